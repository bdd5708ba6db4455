// A job's settings listed once, with everything that is derived from the list: the command line (`lowbit
// correct …` and the "same in a terminal" line the app shows), the run's config.json, and the usage text. Each
// field names its flag, its config.json key and how to read and write it; a settings type (core/train/
// lrec_settings.h …) is a plain struct plus one SettingsSchema listing its fields in order.
//
//   schema.field(integer_setting<S>("--rank", "lora_rank", "R", "LoRA rank", 1, 4096,
//                                   [](S& s) -> int64_t& { return s.lora.rank; }));
//   S settings = schema.parse(ArgParser("correct", argv_rest, schema.options()));
//   std::vector<std::string> argv = schema.arguments(settings);   // parses back to `settings`
//   nlohmann::json config = schema.to_json(settings);            // schema.from_json(config, file) gives it back
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/util/arg_parser.h"
#include "core/util/errors.h"

namespace lowbit {

// The shortest decimal text that reads back as exactly `value` ("3e-05", not "3.0000000000000001e-05").
inline std::string shortest_number_text(double value) {
  char text[40];
  if (value == static_cast<double>(static_cast<int64_t>(value)) && value > -1e15 && value < 1e15) {
    std::snprintf(text, sizeof(text), "%lld", static_cast<long long>(value));  // "10", not "1e+01"
    return text;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(text, sizeof(text), "%.*g", precision, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}

enum class SettingUse {
  Optional,    // has a default
  AlwaysShown,  // has a default, and is written on every command line (a preset, which the others start from)
  Required,    // the command does nothing without it
  RequiredToRun,  // needed to run, not to estimate (`--out`, `--data` with `--estimate`)
  Positional,  // the one positional argument (the model folder)
};

template <typename Settings>
struct SettingField {
  std::string flag;        // "--rank"; for the positional, its name in the usage ("QUANT_DIR")
  std::string key;         // "lora_rank" in config.json; empty: not saved (`--resume`)
  std::string value_name;  // "R" in the usage text; empty for a switch
  std::string help;
  SettingUse use = SettingUse::Optional;
  bool repeatable = false;
  bool saved_since_start = true;  // false: run folders of older versions lack the key (the default is kept)
  std::function<nlohmann::json(const Settings&)> save;
  std::function<void(Settings&, const nlohmann::json&)> load;
  // The field on a command line: {"--rank", "32"}, {"--reverse-kl"}, {} for a switch that is off.
  std::function<std::vector<std::string>(const Settings&)> render;
  // Sets the field from the parsed command line, keeping the current value when the flag is absent.
  std::function<void(Settings&, const ArgParser&)> parse;
};

template <typename Settings>
class SettingsSchema {
 public:
  using Field = SettingField<Settings>;

  // `command`: "correct"; `baseline`: the settings a command line starts from before its options are applied
  // (the defaults with a preset applied, say), so that arguments() writes only what differs from it.
  SettingsSchema(std::string command, std::function<Settings(const Settings&)> baseline)
      : command_(std::move(command)), baseline_(std::move(baseline)) {}

  SettingsSchema& field(Field f) {
    fields_.push_back(std::move(f));
    return *this;
  }
  const std::vector<Field>& fields() const { return fields_; }
  const std::string& command() const { return command_; }

  // The ArgParser options of the command: the fields' flags, then `extra` (flags that are not settings).
  std::vector<OptionSpec> options(std::vector<OptionSpec> extra = {}) const {
    std::vector<OptionSpec> specs;
    for (const Field& f : fields_) {
      if (f.use != SettingUse::Positional && !f.flag.empty()) specs.push_back({f.flag, !f.value_name.empty(), f.repeatable});
    }
    specs.insert(specs.end(), extra.begin(), extra.end());
    return specs;
  }

  // Fields in order; the positional first. `to_run` false: RequiredToRun fields may be missing (--estimate).
  Settings parse(const ArgParser& args, bool to_run = true) const {
    Settings settings{};
    bool has_positional = false;
    for (const Field& f : fields_) {
      if (f.use == SettingUse::Positional) {
        has_positional = true;
        f.load(settings, args.positional(0, (f.flag + " (" + f.help + ")").c_str()));
        continue;
      }
      if (f.use == SettingUse::Required || (to_run && f.use == SettingUse::RequiredToRun)) args.required(f.flag);
      if (f.flag.empty()) continue;  // only in config.json
      f.parse(settings, args);
    }
    args.finish(has_positional ? 1 : 0);
    return settings;
  }

  // The command line after `lowbit COMMAND`: the positional, the required options, then every option whose
  // value differs from the baseline. Parsing it gives `settings` back.
  std::vector<std::string> arguments(const Settings& settings) const {
    const Settings baseline = baseline_(settings);
    std::vector<std::string> argv;
    for (const Field& f : fields_) {
      if (f.flag.empty()) continue;
      const bool always = f.use != SettingUse::Optional;
      if (!always && f.save(settings) == f.save(baseline)) continue;
      for (std::string& token : f.render(settings)) argv.push_back(std::move(token));
    }
    return argv;
  }

  nlohmann::json to_json(const Settings& settings) const {
    nlohmann::json config = nlohmann::json::object();
    for (const Field& f : fields_) {
      if (!f.key.empty()) config[f.key] = f.save(settings);
    }
    return config;
  }

  // `file` names config.json in the errors: which key is missing or of the wrong type, and what to do.
  Settings from_json(const nlohmann::json& config, const std::string& file) const {
    Settings settings{};
    for (const Field& f : fields_) {
      if (f.key.empty()) continue;
      if (!config.contains(f.key)) {
        if (!f.saved_since_start) continue;
        throw InputError(file, "has no \"" + f.key + "\"",
                         "the run was made by an older LowBit; continue it with the command that started it and --resume");
      }
      try {
        f.load(settings, config.at(f.key));
      } catch (const nlohmann::json::exception&) {
        throw InputError(file, "\"" + f.key + "\" has the wrong type", "the file was edited by hand; restore it");
      } catch (const Error& e) {
        throw InputError(file, "\"" + f.key + "\" is not valid: " + e.what(), "the file was edited by hand; restore it");
      }
    }
    return settings;
  }

  // "lowbit correct QUANT_DIR --teacher DIR --calib FILE --out RUN_DIR [options]" and one line per option with
  // its default.
  std::string usage() const {
    std::string line = "lowbit " + command_;
    for (const Field& f : fields_) {
      if (f.use == SettingUse::Positional) line += " " + f.flag;
    }
    for (const Field& f : fields_) {
      if (f.use == SettingUse::Required || f.use == SettingUse::RequiredToRun) line += " " + f.flag + " " + f.value_name;
    }
    return line + " [options]";
  }
  std::string options_help(const std::vector<std::pair<std::string, std::string>>& extra = {}) const {
    const Settings defaults = baseline_(Settings{});
    std::string text;
    auto add = [&text](const std::string& name, const std::string& help) {
      char head[48];
      std::snprintf(head, sizeof(head), "  %-28s ", name.c_str());
      text += (name.size() > 28 ? "  " + name + "\n" + std::string(31, ' ') : std::string(head)) + help + "\n";
    };
    for (const Field& f : fields_) {
      if (f.use == SettingUse::Positional || f.flag.empty()) continue;
      std::string help = f.help;
      if ((f.use == SettingUse::Optional || f.use == SettingUse::AlwaysShown) && !f.value_name.empty()) {
        const std::vector<std::string> shown = f.render(defaults);
        if (shown.size() >= 2) help += " (default " + shown[1] + ")";
      }
      add(f.flag + (f.value_name.empty() ? "" : " " + f.value_name), help);
    }
    for (const auto& [name, help] : extra) add(name, help);
    return text;
  }

 private:
  std::string command_;
  std::function<Settings(const Settings&)> baseline_;
  std::vector<Field> fields_;
};

// ---- Builders for the usual kinds of field. `ref` returns a reference to the field inside the settings. ----

template <typename S, typename T>
using SettingRef = std::function<T&(S&)>;

template <typename S, typename T>
T& setting_in(const SettingRef<S, T>& ref, const S& settings) {
  return ref(const_cast<S&>(settings));
}

template <typename S>
SettingField<S> integer_setting(std::string flag, std::string key, std::string value_name, std::string help,
                                int64_t min, int64_t max, SettingRef<S, int64_t> ref) {
  SettingField<S> f{flag, std::move(key), std::move(value_name), std::move(help)};
  f.save = [ref](const S& s) { return nlohmann::json(setting_in(ref, s)); };
  f.load = [ref](S& s, const nlohmann::json& j) { ref(s) = j.get<int64_t>(); };
  f.render = [ref, flag](const S& s) { return std::vector<std::string>{flag, std::to_string(setting_in(ref, s))}; };
  f.parse = [ref, flag, min, max](S& s, const ArgParser& a) { ref(s) = a.integer(flag, ref(s), min, max); };
  return f;
}

template <typename S>
SettingField<S> seed_setting(std::string help, SettingRef<S, uint64_t> ref) {
  SettingField<S> f{"--seed", "seed", "S", "random seed: " + help};
  f.save = [ref](const S& s) { return nlohmann::json(setting_in(ref, s)); };
  f.load = [ref](S& s, const nlohmann::json& j) { ref(s) = j.get<uint64_t>(); };
  f.render = [ref](const S& s) { return std::vector<std::string>{"--seed", std::to_string(setting_in(ref, s))}; };
  f.parse = [ref](S& s, const ArgParser& a) {
    ref(s) = static_cast<uint64_t>(a.integer("--seed", static_cast<int64_t>(ref(s)), 0, INT64_MAX));
  };
  return f;
}

template <typename S>
SettingField<S> number_setting(std::string flag, std::string key, std::string value_name, std::string help, double min,
                               double max, SettingRef<S, double> ref) {
  SettingField<S> f{flag, std::move(key), std::move(value_name), std::move(help)};
  f.save = [ref](const S& s) { return nlohmann::json(setting_in(ref, s)); };
  f.load = [ref](S& s, const nlohmann::json& j) { ref(s) = j.get<double>(); };
  f.render = [ref, flag](const S& s) { return std::vector<std::string>{flag, shortest_number_text(setting_in(ref, s))}; };
  f.parse = [ref, flag, min, max](S& s, const ArgParser& a) { ref(s) = a.number(flag, ref(s), min, max); };
  return f;
}

template <typename S>
SettingField<S> path_setting(std::string flag, std::string key, std::string value_name, std::string help,
                             SettingRef<S, std::filesystem::path> ref, SettingUse use = SettingUse::Optional) {
  SettingField<S> f{flag, std::move(key), std::move(value_name), std::move(help), use};
  f.save = [ref](const S& s) { return nlohmann::json(setting_in(ref, s).string()); };
  f.load = [ref](S& s, const nlohmann::json& j) { ref(s) = j.get<std::string>(); };
  f.render = [ref, flag, use](const S& s) {
    if (use == SettingUse::Positional) return std::vector<std::string>{setting_in(ref, s).string()};
    return std::vector<std::string>{flag, setting_in(ref, s).string()};
  };
  f.parse = [ref, flag](S& s, const ArgParser& a) {
    if (const auto value = a.value(flag)) ref(s) = *value;
  };
  return f;
}

template <typename S>
SettingField<S> string_setting(std::string flag, std::string key, std::string value_name, std::string help,
                               SettingRef<S, std::string> ref) {
  SettingField<S> f{flag, std::move(key), std::move(value_name), std::move(help)};
  f.save = [ref](const S& s) { return nlohmann::json(setting_in(ref, s)); };
  f.load = [ref](S& s, const nlohmann::json& j) { ref(s) = j.get<std::string>(); };
  f.render = [ref, flag](const S& s) { return std::vector<std::string>{flag, setting_in(ref, s)}; };
  f.parse = [ref, flag](S& s, const ArgParser& a) {
    if (const auto value = a.value(flag)) ref(s) = *value;
  };
  return f;
}

// A switch: on when the flag is given. `flag_sets` is the value the flag gives (false for --no-… switches).
template <typename S>
SettingField<S> switch_setting(std::string flag, std::string key, std::string help, bool flag_sets, SettingRef<S, bool> ref) {
  SettingField<S> f{flag, std::move(key), "", std::move(help)};
  f.save = [ref](const S& s) { return nlohmann::json(setting_in(ref, s)); };
  f.load = [ref](S& s, const nlohmann::json& j) { ref(s) = j.get<bool>(); };
  f.render = [ref, flag, flag_sets](const S& s) {
    return setting_in(ref, s) == flag_sets ? std::vector<std::string>{flag} : std::vector<std::string>{};
  };
  f.parse = [ref, flag, flag_sets](S& s, const ArgParser& a) {
    if (a.flag(flag)) ref(s) = flag_sets;
  };
  return f;
}

// A switch between two named values of an enum, stored as the name: `--reverse-kl` sets `on`.
template <typename S, typename T>
SettingField<S> named_switch_setting(std::string flag, std::string key, std::string help,
                                     std::pair<std::string, T> off, std::pair<std::string, T> on, SettingRef<S, T> ref) {
  SettingField<S> f{flag, std::move(key), "", std::move(help)};
  f.save = [ref, off, on](const S& s) { return nlohmann::json(setting_in(ref, s) == on.second ? on.first : off.first); };
  f.load = [ref, off, on](S& s, const nlohmann::json& j) {
    const std::string name = j.get<std::string>();
    if (name != on.first && name != off.first) throw Error("unknown value '" + name + "'");
    ref(s) = name == on.first ? on.second : off.second;
  };
  f.render = [ref, flag, on](const S& s) {
    return setting_in(ref, s) == on.second ? std::vector<std::string>{flag} : std::vector<std::string>{};
  };
  f.parse = [ref, flag, on](S& s, const ArgParser& a) {
    if (a.flag(flag)) ref(s) = on.second;
  };
  return f;
}

// A value that may be absent (null in config.json, no option on the command line).
template <typename S, typename T>
SettingField<S> optional_setting(std::string flag, std::string key, std::string value_name, std::string help,
                                 std::function<T(const ArgParser&, const std::string&)> read,
                                 std::function<std::string(const T&)> text, SettingRef<S, std::optional<T>> ref,
                                 SettingUse use = SettingUse::Optional) {
  SettingField<S> f{flag, std::move(key), std::move(value_name), std::move(help), use};
  // Numbers stay numbers in config.json; anything else is stored as its text.
  f.save = [ref, text](const S& s) {
    const auto& value = setting_in(ref, s);
    if (!value) return nlohmann::json(nullptr);
    if constexpr (std::is_arithmetic_v<T>) {
      return nlohmann::json(*value);
    } else {
      return nlohmann::json(text(*value));
    }
  };
  f.load = [ref](S& s, const nlohmann::json& j) {
    if (j.is_null()) {
      ref(s).reset();
    } else if constexpr (std::is_arithmetic_v<T>) {
      ref(s) = j.get<T>();
    } else {
      ref(s) = T(j.get<std::string>());
    }
  };
  f.render = [ref, flag, text](const S& s) {
    const auto& value = setting_in(ref, s);
    return value ? std::vector<std::string>{flag, text(*value)} : std::vector<std::string>{};
  };
  f.parse = [ref, flag, read](S& s, const ArgParser& a) {
    if (a.value(flag)) ref(s) = read(a, flag);
  };
  return f;
}

// One of named values, stored as its name: an enum with `name_of` / `value_of` or a string.
template <typename S, typename T>
SettingField<S> choice_setting(std::string flag, std::string key, std::string help,
                               std::vector<std::pair<std::string, T>> choices, SettingRef<S, T> ref) {
  std::string names;
  std::vector<std::string> allowed;
  for (const auto& [name, value] : choices) {
    names += (names.empty() ? "" : "|") + name;
    allowed.push_back(name);
  }
  SettingField<S> f{flag, std::move(key), names, std::move(help)};
  auto name_of = [choices](const T& value) {
    for (const auto& [name, v] : choices) {
      if (v == value) return name;
    }
    return choices.front().first;
  };
  auto value_of = [choices](const std::string& name) {
    for (const auto& [n, v] : choices) {
      if (n == name) return v;
    }
    throw Error("unknown value '" + name + "'");
  };
  f.save = [ref, name_of](const S& s) { return nlohmann::json(name_of(setting_in(ref, s))); };
  f.load = [ref, value_of](S& s, const nlohmann::json& j) { ref(s) = value_of(j.get<std::string>()); };
  f.render = [ref, flag, name_of](const S& s) { return std::vector<std::string>{flag, name_of(setting_in(ref, s))}; };
  f.parse = [ref, flag, allowed, name_of, value_of](S& s, const ArgParser& a) {
    ref(s) = value_of(a.choice(flag, name_of(ref(s)), allowed));
  };
  return f;
}

// A comma-separated list on the command line ("q_proj,v_proj"), an array in config.json.
template <typename S>
SettingField<S> list_setting(std::string flag, std::string key, std::string value_name, std::string help,
                             SettingRef<S, std::vector<std::string>> ref) {
  SettingField<S> f{flag, std::move(key), std::move(value_name), std::move(help)};
  f.save = [ref](const S& s) { return nlohmann::json(setting_in(ref, s)); };
  f.load = [ref](S& s, const nlohmann::json& j) { ref(s) = j.get<std::vector<std::string>>(); };
  f.render = [ref, flag](const S& s) {
    std::string joined;
    for (const std::string& item : setting_in(ref, s)) joined += (joined.empty() ? "" : ",") + item;
    return std::vector<std::string>{flag, joined};
  };
  f.parse = [ref, flag](S& s, const ArgParser& a) {
    const auto value = a.value(flag);
    if (!value) return;
    std::vector<std::string> items;
    std::stringstream stream(*value);
    for (std::string item; std::getline(stream, item, ',');) {
      if (!item.empty()) items.push_back(item);
    }
    if (items.empty()) throw UsageError("lowbit: " + flag + " needs at least one name");
    ref(s) = items;
  };
  return f;
}

// A repeatable option: `--adapters A --adapters B`, an array in config.json.
template <typename S>
SettingField<S> repeated_path_setting(std::string flag, std::string key, std::string value_name, std::string help,
                                      SettingRef<S, std::vector<std::filesystem::path>> ref) {
  SettingField<S> f{flag, std::move(key), std::move(value_name), std::move(help)};
  f.repeatable = true;
  f.save = [ref](const S& s) {
    std::vector<std::string> paths;
    for (const auto& p : setting_in(ref, s)) paths.push_back(p.string());
    return nlohmann::json(paths);
  };
  f.load = [ref](S& s, const nlohmann::json& j) {
    ref(s).clear();
    for (const std::string& p : j.get<std::vector<std::string>>()) ref(s).emplace_back(p);
  };
  f.render = [ref, flag](const S& s) {
    std::vector<std::string> tokens;
    for (const auto& p : setting_in(ref, s)) {
      tokens.push_back(flag);
      tokens.push_back(p.string());
    }
    return tokens;
  };
  f.parse = [ref, flag](S& s, const ArgParser& a) {
    const std::vector<std::string> values = a.values(flag);
    if (values.empty()) return;
    ref(s).assign(values.begin(), values.end());
  };
  return f;
}

}  // namespace lowbit
