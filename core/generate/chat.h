// A conversation with an instruction-tuned model. The conversation is rendered in the model's own chat template
// when its folder has one (core/data/prompt_format.h), else in Alpaca (EMEF runs), or as chosen; earlier turns
// stay in the prompt, the oldest dropped when they no longer fit the model's context; the answer streams token by
// token and ends at EOS, at the template's end-of-turn token (<|im_end|>, <|eot_id|>, ...) or Alpaca's next
// "### Instruction:", at the token limit, or when cancelled (what came so far is kept).
//
//   ChatSession chat(model, tokenizer, {});   // the model's template, if it has one
//   ChatReply reply = chat.send("Name three colours.", events, cancel);   // events.token(...) while it runs
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/data/prompt_format.h"
#include "core/generate/generate.h"

namespace lowbit::generate {

struct ChatSettings {
  std::optional<data::PromptTemplate> prompt_template;  // none: the model's chat template if it has one, else Alpaca
  std::string system_prompt;     // where the template has a place for it
  int64_t max_new_tokens = 256;
  SamplingSettings sampling;
  std::optional<uint64_t> seed;  // the first reply's; later replies continue from it
  bool keep_history = true;      // false: every message is answered on its own
};

struct ChatReply {
  std::string text;
  bool cancelled = false;
  int64_t prompt_tokens = 0, new_tokens = 0;
  int64_t dropped_turns = 0;     // earlier turns left out of this prompt to fit the context
  double tokens_per_s = 0;
};

class ChatSession {
 public:
  // InputError when the model's template is asked for and the folder has none it can render.
  ChatSession(std::shared_ptr<const model::LlamaModel> model, std::shared_ptr<const tokenizer::Tokenizer> tokenizer,
              ChatSettings settings);

  ChatReply send(const std::string& message, jobs::JobEvents& events, const jobs::CancelToken& cancel);
  void reset() { turns_.clear(); }
  // The text the model sees for `message` after the kept turns (for tests and the GUI's "show prompt").
  std::string prompt_for(const std::string& message, size_t first_turn = 0) const;
  const std::vector<std::pair<std::string, std::string>>& turns() const { return turns_; }
  const ChatSettings& settings() const { return settings_; }
  // Sampling, length, history and template (a new template starts the conversation afresh).
  void set_settings(const ChatSettings& settings);
  const data::PromptFormat& format() const { return format_; }
  // Why the model's own template is not used (it cannot be rendered: the Alpaca fallback), else "".
  const std::string& format_notice() const { return format_notice_; }
  // The sampling seed of the next reply: sessions compared side by side draw the same random numbers.
  void reseed(uint64_t seed) { next_seed_ = seed; }

 private:
  std::shared_ptr<const model::LlamaModel> model_;
  void choose_format();

  std::shared_ptr<const tokenizer::Tokenizer> base_tokenizer_;
  std::shared_ptr<const tokenizer::Tokenizer> tokenizer_;  // the base one + the template's end-of-turn tokens
  ChatSettings settings_;
  data::PromptFormat format_;
  std::string format_notice_;
  std::vector<std::pair<std::string, std::string>> turns_;  // (message, reply)
  uint64_t next_seed_ = 0;
};

// Loads a model folder (+ adapters stacked in order) and its tokenizer for chatting, as a job: loading a 7B model
// takes long enough that the GUI runs it on a worker thread. The device ("auto", "cpu", "cuda") is resolved there
// too, so the GUI thread never touches LibTorch.
class ChatLoadJob : public jobs::Job {
 public:
  ChatLoadJob(std::string model_dir, std::vector<std::string> adapters, std::string device_name, ChatSettings settings)
      : model_dir_(std::move(model_dir)), adapters_(std::move(adapters)), device_name_(std::move(device_name)),
        settings_(std::move(settings)) {}
  std::string title() const override { return "Load model"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override;
  std::shared_ptr<ChatSession> session() const { return session_; }

 private:
  std::string model_dir_;
  std::vector<std::string> adapters_;
  std::string device_name_;
  ChatSettings settings_;
  std::shared_ptr<ChatSession> session_;
};

// One answer of a session, streamed through events.token().
class ChatReplyJob : public jobs::Job {
 public:
  ChatReplyJob(std::shared_ptr<ChatSession> session, std::string message)
      : session_(std::move(session)), message_(std::move(message)) {}
  std::string title() const override { return "Chat"; }
  void run(jobs::JobEvents& events, const jobs::CancelToken& cancel) override {
    reply_ = session_->send(message_, events, cancel);
    cancel.throw_if_cancelled();  // a stopped answer ends as a cancelled job
  }
  const ChatReply& reply() const { return reply_; }

 private:
  std::shared_ptr<ChatSession> session_;
  std::string message_;
  ChatReply reply_;
};

}  // namespace lowbit::generate
