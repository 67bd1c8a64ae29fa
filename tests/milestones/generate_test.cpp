// Module 20's text endpoint, POST /v1/generate: the checks of its body (each refusal names the
// field), and tinytorch-serve started as a real process on loopback over a tiny random-weight GPT
// saved as the tinygpt milestone saves it: the served text is what module 16's generate_with_cache
// gives offline, bad bodies get 400 and the server stays up, the route of the other kind of model
// answers 404 naming the model, SIGTERM exits 0. Every wait is capped.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/process.hpp"
#include "inference_loader.hpp"
#include "saved_model.hpp"
#include "server_process.hpp"
#include "tinytorch/caching.hpp"
#include "tinytorch/serving.hpp"
#include "tinytorch/text_generation.hpp"

namespace fs = std::filesystem;
using namespace tinytorch;  // NOLINT(google-build-using-namespace)
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* kCorpus = "ROMEO:\nJULIET: what's in a name? that which we call a rose\n";

// A tiny GPT with random weights (seed 11) over kCorpus's characters: the server must reproduce
// whatever the weights are. The context (16) is shorter than the test's longer prompt and
// generations, so the window policy past the context is served too.
struct TinyGPT {
  text::CharTokenizer tokenizer{kCorpus};
  std::shared_ptr<nn::GPT> model;
  TinyGPT() {
    Generator generator(11);
    model = std::make_shared<nn::GPT>(nn::GPTConfig{.vocab_size = tokenizer.vocab_size(),
                                                    .context = 16,
                                                    .embed_dim = 16,
                                                    .num_heads = 2,
                                                    .num_layers = 1},
                                      generator);
    model->eval();
  }

  // The new characters generate_with_cache gives offline for prompt.
  [[nodiscard]] std::string offline(const std::string& prompt, std::int64_t new_tokens,
                                    SamplingOptions sampling = {.temperature = 0.0f}) const {
    const std::vector<std::int64_t> ids = tokenizer.encode(prompt);
    const Generation g =
        generate_with_cache(*model, ids, new_tokens, GenerationOptions{.sampling = sampling});
    return tokenizer.decode({g.ids.begin() + static_cast<std::ptrdiff_t>(ids.size()), g.ids.end()});
  }
};

// The message of the InvalidRequest that body gets ("" when it is accepted).
std::string refusal(const std::string& body) {
  const TinyGPT gpt;
  try {
    (void)serve::parse_generate_request(body, gpt.tokenizer);
  } catch (const serve::InvalidRequest& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// ---- the body's checks
// ---------------------------------------------------------------------------

TEST(GenerateRequest, OnlyThePromptIsRequiredAndTheDefaultIsGreedy) {
  const TinyGPT gpt;
  const serve::GenerateRequest r =
      serve::parse_generate_request(R"({"prompt": "ROMEO:"})", gpt.tokenizer);
  EXPECT_EQ(r.prompt, gpt.tokenizer.encode("ROMEO:"));
  EXPECT_EQ(r.max_new_tokens, serve::GenerateLimits{}.default_new_tokens);
  EXPECT_EQ(r.sampling.temperature, 0.0f);
  EXPECT_EQ(r.sampling.top_k, 0);
  EXPECT_EQ(r.sampling.seed, 0u);
}

TEST(GenerateRequest, EveryFieldIsRead) {
  const TinyGPT gpt;
  const serve::GenerateRequest r = serve::parse_generate_request(
      R"({"prompt": "a", "max_new_tokens": 7, "temperature": 0.5, "top_k": 3, "seed": 9})",
      gpt.tokenizer);
  EXPECT_EQ(r.max_new_tokens, 7);
  EXPECT_EQ(r.sampling.temperature, 0.5f);
  EXPECT_EQ(r.sampling.top_k, 3);
  EXPECT_EQ(r.sampling.seed, 9u);
}

TEST(GenerateRequest, AMissingEmptyOrNonStringPromptIsNamed) {
  for (const char* body : {R"({"max_new_tokens": 5})", R"({"prompt": ""})", R"({"prompt": 5})",
                           R"({"prompt": null})", R"({"prompt": ["R"]})"}) {
    const std::string message = refusal(body);
    EXPECT_EQ(message.rfind("prompt", 0), 0u) << body << " -> " << message;
  }
}

TEST(GenerateRequest, ACharacterOutsideTheVocabularyIsNamedWithItsPosition) {
  const std::string message = refusal(R"({"prompt": "ROMEO: z\u00e9"})");
  EXPECT_NE(message.find("'z' (U+007A) at position 7"), std::string::npos) << message;
  EXPECT_NE(refusal(R"({"prompt": "ROMEO:\u00e9"})").find("'\u00e9' (U+00E9) at position 6"),
            std::string::npos);
}

TEST(GenerateRequest, MaxNewTokensOutsideOneTo1024IsRefused) {
  for (const char* n : {"0", "-1", "1025", "18446744073709551615", "99999999999999999999"}) {
    const std::string message =
        refusal(std::string(R"({"prompt": "a", "max_new_tokens": )") + n + "}");
    EXPECT_NE(message.find("max_new_tokens"), std::string::npos) << n << " -> " << message;
    EXPECT_NE(message.find("[1, 1024]"), std::string::npos) << n << " -> " << message;
  }
  EXPECT_EQ(refusal(R"({"prompt": "a", "max_new_tokens": 1024})"), "");
}

TEST(GenerateRequest, WrongTypesAreNamedWithTheFieldAndTheType) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"prompt": "a", "max_new_tokens": "5"})", "max_new_tokens is string"},
      {R"({"prompt": "a", "max_new_tokens": 2.5})", "max_new_tokens is number"},
      {R"({"prompt": "a", "temperature": "hot"})", "temperature is string"},
      {R"({"prompt": "a", "temperature": -0.1})", "temperature is number"},
      {R"({"prompt": "a", "top_k": true})", "top_k is boolean"},
      {R"({"prompt": "a", "seed": -3})", "seed = -3 is out of range"},
  };
  for (const auto& [body, expected] : cases) {
    const std::string message = refusal(body);
    EXPECT_NE(message.find(expected), std::string::npos) << body << " -> " << message;
  }
}

TEST(GenerateRequest, AnUnknownFieldIsNamedWithTheFieldsThatExist) {
  const std::string message = refusal(R"({"prompt": "a", "max_tokens": 5})");
  EXPECT_NE(message.find("'max_tokens'"), std::string::npos) << message;
  EXPECT_NE(message.find("max_new_tokens"), std::string::npos) << message;
}

TEST(GenerateRequest, ABodyThatIsNotAJsonObjectIsRefused) {
  EXPECT_NE(refusal("ROMEO:").find("not a JSON object"), std::string::npos);
  EXPECT_NE(refusal(R"(["ROMEO:"])").find("not a JSON object"), std::string::npos);
}

TEST(TextGenerator, RefusesATokenizerOfAnotherModel) {
  const TinyGPT gpt;
  EXPECT_THROW(serve::TextGenerator(gpt.model, text::CharTokenizer("abc")), std::invalid_argument);
}

// ---- tinytorch-serve over a saved tinygpt model
// --------------------------------------------------

namespace {

class ServedGPT : public ::testing::Test {
 protected:
  void SetUp() override {
    milestones::save_gpt_model(dir_.path() / "tinygpt", *gpt_.model, gpt_.tokenizer,
                               {{"val_loss", 4.0}});
  }

  // Starts tinytorch-serve on a model folder; the returned process is killed by its destructor
  // whatever happens.
  std::unique_ptr<milestones::ServerProcess> start(const fs::path& model_dir) {
    const fs::path port_file = dir_.path() / "port.json";
    fs::remove(port_file);
    auto server = std::make_unique<milestones::ServerProcess>(
        std::vector<std::string>{TINYTORCH_SERVE, "--model-dir", model_dir.string(), "--port", "0",
                                 "--port-file", port_file.string(), "--warmup", "1"},
        dir_.path() / "server.log");
    port_ = server->wait_for_port(port_file, 30s);
    return server;
  }

  [[nodiscard]] httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(5, 0);
    c.set_read_timeout(30, 0);
    return c;
  }

  // POST /v1/generate; the answer's status and JSON body.
  std::pair<int, json> generate(const json& body) {
    auto res = client().Post("/v1/generate", body.dump(), "application/json");
    if (!res) return {0, {{"error", httplib::to_string(res.error())}}};
    return {res->status, json::parse(res->body)};
  }

  tito::TempDir dir_{"tt_generate"};
  TinyGPT gpt_;
  int port_ = 0;
};

}  // namespace

TEST_F(ServedGPT, GreedyTextEqualsGenerateWithCacheOffline) {
  auto server = start(dir_.path() / "tinygpt");
  // A short prompt, and one longer than the context (16) with a generation past it.
  for (const auto& [prompt, n] : std::vector<std::pair<std::string, int>>{
           {"ROMEO:", 20}, {"JULIET: what's in a name? that", 40}}) {
    const auto [status, body] = generate({{"prompt", prompt}, {"max_new_tokens", n}});
    ASSERT_EQ(status, 200) << body.dump();
    EXPECT_EQ(body.at("text").get<std::string>(), gpt_.offline(prompt, n)) << prompt;
    EXPECT_EQ(body.at("tokens"), n);
    EXPECT_EQ(body.at("prompt_tokens"), static_cast<std::int64_t>(prompt.size()));
  }
}

TEST_F(ServedGPT, SampledTextWithASeedEqualsGenerateWithCacheOffline) {
  auto server = start(dir_.path() / "tinygpt");
  const auto [status, body] = generate({{"prompt", "ROMEO:"},
                                        {"max_new_tokens", 30},
                                        {"temperature", 0.8},
                                        {"top_k", 5},
                                        {"seed", 42}});
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(body.at("text").get<std::string>(),
            gpt_.offline("ROMEO:", 30, {.temperature = 0.8f, .top_k = 5, .seed = 42}));
}

TEST_F(ServedGPT, BadBodiesGet400NamingTheFieldAndTheServerStaysUp) {
  auto server = start(dir_.path() / "tinygpt");
  const std::vector<std::pair<json, std::string>> bad = {
      {json::object(), "prompt is missing"},
      {{{"prompt", ""}}, "prompt is empty"},
      {{{"prompt", "ROMEO: z"}}, "'z' (U+007A)"},
      {{{"prompt", "a"}, {"max_new_tokens", 5000}}, "max_new_tokens"},
      {{{"prompt", "a"}, {"temperature", "warm"}}, "temperature"},
  };
  for (const auto& [body, expected] : bad) {
    const auto [status, answer] = generate(body);
    EXPECT_EQ(status, 400) << body.dump();
    EXPECT_NE(answer.value("error", "").find(expected), std::string::npos) << answer.dump();
  }
  const auto [status, answer] = generate({{"prompt", "a"}, {"max_new_tokens", 3}});
  EXPECT_EQ(status, 200) << answer.dump();
  auto health = client().Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto metrics = client().Get("/metrics");
  ASSERT_TRUE(metrics);
  const json m = json::parse(metrics->body);
  EXPECT_EQ(m.at("model"), "tinygpt");
  EXPECT_EQ(m.at("requests"), static_cast<std::int64_t>(bad.size()) + 1);
  EXPECT_EQ(m.at("errors"), static_cast<std::int64_t>(bad.size()));
  EXPECT_EQ(m.at("generated_tokens"), 3);
}

TEST_F(ServedGPT, ABodyOver64KiBGets413) {
  auto server = start(dir_.path() / "tinygpt");
  const auto [status, answer] = generate({{"prompt", std::string(70000, 'a')}});
  EXPECT_EQ(status, 413);
  EXPECT_NE(answer.value("error", "").find("shorter prompt"), std::string::npos) << answer.dump();
}

TEST_F(ServedGPT, PredictOnTheTextModelIs404NamingIt) {
  auto server = start(dir_.path() / "tinygpt");
  auto res = client().Post("/v1/predict", R"({"inputs": [[1, 2]]})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  const std::string message = json::parse(res->body).at("error");
  EXPECT_NE(message.find("text model 'tinygpt'"), std::string::npos) << message;
  EXPECT_NE(message.find("/v1/generate"), std::string::npos) << message;
}

TEST_F(ServedGPT, GenerateOnAnImageModelIs404NamingIt) {
  Generator generator(7);
  const auto net = milestones::make_milestone_net("mnist", generator);
  milestones::save_milestone_model(dir_.path() / "mnist", "mnist", *net, {{"test_accuracy", 0.1}});
  auto server = start(dir_.path() / "mnist");
  auto res = client().Post("/v1/generate", R"({"prompt": "ROMEO:"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  const std::string message = json::parse(res->body).at("error");
  EXPECT_NE(message.find("tensor model 'mnist'"), std::string::npos) << message;
  EXPECT_NE(message.find("/v1/predict"), std::string::npos) << message;
  auto health = client().Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServedGPT, SigtermStopsTheTextServerWithStatusZero) {
  auto server = start(dir_.path() / "tinygpt");
  const auto [status, body] = generate({{"prompt", "ROMEO:"}, {"max_new_tokens", 5}});
  ASSERT_EQ(status, 200) << body.dump();
  EXPECT_EQ(server->terminate(15s), 0) << server->log_tail(20);
}

TEST_F(ServedGPT, TheTextModelIsNotServedInInt8) {
  tito::ProcessOptions options;
  options.timeout = 30s;
  options.stdio = tito::Stdio::separate;
  const tito::ProcessResult result = tito::run_process(
      {TINYTORCH_SERVE, "--model-dir", (dir_.path() / "tinygpt").string(), "--precision", "int8"},
      options);
  EXPECT_EQ(result.exit_code, 1) << result.describe();
  EXPECT_NE(result.error.find("--precision float32"), std::string::npos) << result.error;
}

TEST_F(ServedGPT, TheFolderIsDetectedAsTinygptWithOrWithoutTheMilestoneField) {
  const fs::path dir = dir_.path() / "tinygpt";
  EXPECT_EQ(milestones::saved_model_milestone(dir), "tinygpt");
  // tinygpt's first saves wrote only "model" and "training".
  json config = json::parse(std::ifstream(dir / "config.json"));
  config.erase("milestone");
  config.erase("format");
  std::ofstream(dir / "config.json") << config.dump();
  EXPECT_EQ(milestones::saved_model_milestone(dir), "tinygpt");
}

TEST_F(ServedGPT, AnInferenceSessionOverTheTextModelPointsAtGenerate) {
  try {
    (void)milestones::load_inference_session(dir_.path() / "tinygpt", serve::Precision::float32);
    ADD_FAILURE() << "a tinygpt folder loaded as a tensor model";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/v1/generate"), std::string::npos) << e.what();
  }
}
