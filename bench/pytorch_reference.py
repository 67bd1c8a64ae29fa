#!/usr/bin/env python3
"""PyTorch-on-CPU anchor for tinytorch-bench: the same nets, batch, optimizer, loss and timing
(warm-up, then `repeats` runs of `steps` steps, median), printed as the same JSON lines.

    python3 bench/pytorch_reference.py [--threads 2] [--net mnist_mlp]...
    python3 bench/pytorch_reference.py --compare build/reference/bin/tinytorch-bench

--compare runs the C++ benchmark in the same invocation, right after each PyTorch net with the
same thread count, and prints a ratio line per net (tinytorch / pytorch; > 1 means faster).
Needs `import torch` to work (Debian 12: apt-get install python3-torch).
"""
import argparse
import json
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
    parser.add_argument("--net", action="append", choices=sorted(NETS))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compare", metavar="TINYTORCH_BENCH", help="path of tinytorch-bench to run alongside")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.net or sorted(NETS):
        ours = None
        theirs = measure(name, args.batch, args.steps, args.repeats)
        print(json.dumps(theirs), flush=True)
        if args.compare:
            out = subprocess.run([args.compare, "--net", name, "--threads", str(args.threads),
                                  "--batch", str(args.batch), "--steps", str(args.steps),
                                  "--repeats", str(args.repeats)], check=True, capture_output=True, text=True)
            ours = json.loads(out.stdout.strip().splitlines()[-1])
            print(json.dumps(ours), flush=True)
            print(json.dumps({"net": name, "threads": args.threads,
                              "train_ratio": ours["train_img_per_s"] / theirs["train_img_per_s"],
                              "infer_ratio": ours["infer_img_per_s"] / theirs["infer_img_per_s"]}), flush=True)


if __name__ == "__main__":
    main()
