#!/usr/bin/env python3
"""PyTorch-on-CPU anchor for tinytorch-bench: the same nets, batch, optimizer, loss and timing
(warm-up, then `repeats` runs of `steps` steps, median), printed as the same JSON lines.

    python3 bench/pytorch_reference.py [--threads 2] [--net mnist_mlp]...
    python3 bench/pytorch_reference.py --compare build/reference/bin/tinytorch-bench

--compare runs the C++ benchmark in the same invocation, right after each PyTorch net with the
same thread count, and prints a ratio line per net (tinytorch / pytorch; > 1 means faster).
gpt_char (the GPT of milestone tinygpt) counts tokens, batch x context, instead of images, on a
batch of 32 windows unless --batch says otherwise.
Needs `import torch` to work (Debian 12: apt-get install python3-torch).
"""
import argparse
import json
import math
import statistics
import subprocess
import sys
import time

try:
    import torch
    from torch import nn
except ImportError:  # pragma: no cover - reported, not hidden
    sys.exit("pytorch_reference.py: `import torch` failed; on Debian 12: apt-get install python3-torch")


def mnist_mlp():
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(),
                         nn.Linear(64, 10)), (784,), 10


def mnist_lenet():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10)), (1, 28, 28), 10


def cifar10_cnn():
    return nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64 * 8 * 8, 256), nn.ReLU(), nn.Linear(256, 10)), (3, 32, 32), 10


NETS = {"mnist_mlp": mnist_mlp, "mnist_lenet": mnist_lenet, "cifar10_cnn": cifar10_cnn}


class GptBlock(nn.Module):
    """tinytorch's TransformerBlock: pre-norm, q/k/v/out projections with bias, GELU MLP 4x."""

    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.q, self.k, self.v, self.out = (nn.Linear(dim, dim) for _ in range(4))
        self.fc, self.proj = nn.Linear(dim, 4 * dim), nn.Linear(4 * dim, dim)

    def attention(self, x):
        b, t, e = x.shape
        split = lambda y: y.view(b, t, self.heads, e // self.heads).transpose(1, 2)  # (B, H, T, D)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        mask = torch.full((t, t), float("-inf")).triu(1)
        weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(e // self.heads) + mask, dim=-1)
        return self.out((weights @ v).transpose(1, 2).reshape(b, t, e))

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.proj(nn.functional.gelu(self.fc(self.ln2(x))))


class Gpt(nn.Module):
    """tinytorch's nn::GPT: learned positions, L blocks, final LayerNorm, head tied to wte."""

    def __init__(self, vocab=65, context=64, dim=128, heads=4, layers=4):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, dim), nn.Embedding(context, dim)
        self.blocks = nn.Sequential(*(GptBlock(dim, heads) for _ in range(layers)))
        self.ln_f = nn.LayerNorm(dim)

    def forward(self, ids):
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1]))
        return self.ln_f(self.blocks(x)) @ self.wte.weight.t()


GPT_NET, GPT_BATCH, GPT_CONTEXT, GPT_VOCAB = "gpt_char", 32, 64, 65


def measure_gpt(batch, steps, repeats):
    torch.manual_seed(0)
    model = Gpt(GPT_VOCAB, GPT_CONTEXT)
    window = torch.randint(0, GPT_VOCAB, (batch, GPT_CONTEXT + 1))
    x, y = window[:, :-1], window[:, 1:].reshape(-1)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)

    def train_step():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x).reshape(-1, GPT_VOCAB), y)
        loss.backward()
        optimizer.step()

    def timed(step):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        return batch * GPT_CONTEXT * steps / (time.perf_counter() - start)

    for _ in range(max(3, steps // 5)):
        train_step()
    train_rates, infer_rates = [], []
    for _ in range(repeats):
        model.train()
        train_rates.append(timed(train_step))
        model.eval()
        with torch.no_grad():
            infer_rates.append(timed(lambda: model(x)))
    return {"framework": "pytorch", "torch": torch.__version__, "net": GPT_NET, "batch": batch,
            "context": GPT_CONTEXT, "threads": torch.get_num_threads(),
            "train_tok_per_s": statistics.median(train_rates),
            "infer_tok_per_s": statistics.median(infer_rates), "repeats": repeats, "steps": steps}


def measure(name, batch, steps, repeats):
    torch.manual_seed(0)
    model, sample_shape, classes = NETS[name]()
    x = torch.randn(batch, *sample_shape)
    y = torch.randint(0, classes, (batch,))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()

    def train_step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    def timed(step):
        start = time.perf_counter()
        for _ in range(steps):
            step()
        return batch * steps / (time.perf_counter() - start)

    for _ in range(max(3, steps // 5)):
        train_step()
    train_rates, infer_rates = [], []
    for _ in range(repeats):
        model.train()
        train_rates.append(timed(train_step))
        model.eval()
        with torch.no_grad():
            infer_rates.append(timed(lambda: model(x)))
    return {"framework": "pytorch", "torch": torch.__version__, "net": name, "batch": batch,
            "threads": torch.get_num_threads(), "train_img_per_s": statistics.median(train_rates),
            "infer_img_per_s": statistics.median(infer_rates), "repeats": repeats, "steps": steps}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--net", action="append", choices=sorted(NETS) + [GPT_NET])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, help="default: 64 images, 32 GPT windows")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compare", metavar="TINYTORCH_BENCH", help="path of tinytorch-bench to run alongside")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.net or sorted(NETS) + [GPT_NET]:
        ours = None
        batch = args.batch or (GPT_BATCH if name == GPT_NET else 64)
        if name == GPT_NET:
            theirs = measure_gpt(batch, args.steps, args.repeats)
        else:
            theirs = measure(name, batch, args.steps, args.repeats)
        print(json.dumps(theirs), flush=True)
        if args.compare:
            out = subprocess.run([args.compare, "--net", name, "--threads", str(args.threads),
                                  "--batch", str(batch), "--steps", str(args.steps),
                                  "--repeats", str(args.repeats)], check=True, capture_output=True, text=True)
            ours = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps(ours), flush=True)
            unit = "tok" if name == GPT_NET else "img"
            print(json.dumps({"net": name, "threads": args.threads,
                              "train_ratio": ours[f"train_{unit}_per_s"] / theirs[f"train_{unit}_per_s"],
                              "infer_ratio": ours[f"infer_{unit}_per_s"] / theirs[f"infer_{unit}_per_s"]}),
                  flush=True)


if __name__ == "__main__":
    main()
