#include "core/quant/quantize_settings.h"

#include <tuple>

namespace lowbit::quant {

bool operator==(const QuantizeSettings& a, const QuantizeSettings& b) {
  auto fields = [](const QuantizeSettings& s) {
    return std::tie(s.model_dir, s.out_dir, s.calibration, s.config, s.nsamples, s.seqlen, s.seed, s.device);
  };
  return fields(a) == fields(b);
}

int64_t default_group_size(int64_t hidden_size) { return hidden_size % 128 == 0 ? 128 : 32; }

namespace {

using S = QuantizeSettings;
using json = nlohmann::json;

// The checkpoint format a command line without --format gets: v1 for symmetric weights, v2 (which stores zero
// points as they are) for asymmetric ones.
std::string default_format(const QuantConfig& config) { return config.sym ? "gptq" : "gptq_v2"; }

SettingsSchema<S> make_schema() {
  SettingsSchema<S> schema("quantize", [](const S& s) {
    S baseline;
    baseline.config.checkpoint_format = default_format(s.config);
    return baseline;
  });
  schema.field(path_setting<S>("MODEL", "model", "", "a model folder",
                               [](S& s) -> std::filesystem::path& { return s.model_dir; }, SettingUse::Positional));
  schema.field(path_setting<S>("--out", "out", "DIR", "the quantized model folder to write",
                               [](S& s) -> std::filesystem::path& { return s.out_dir; }, SettingUse::Required));
  schema.field(optional_setting<S, std::filesystem::path>(
      "--calib", "calibration", "FILE", "calibration text (.txt or .jsonl); needed for GPTQ",
      [](const ArgParser& a, const std::string& flag) { return std::filesystem::path(*a.value(flag)); },
      [](const std::filesystem::path& path) { return path.string(); },
      [](S& s) -> std::optional<std::filesystem::path>& { return s.calibration; }, SettingUse::AlwaysShown));
  {
    SettingField<S> bits{"--bits", "bits", "2|3|4|8", "bits per weight"};
    bits.save = [](const S& s) { return json(s.config.bits); };
    bits.load = [](S& s, const json& j) { s.config.bits = j.get<int>(); };
    bits.render = [](const S& s) { return std::vector<std::string>{"--bits", std::to_string(s.config.bits)}; };
    bits.parse = [](S& s, const ArgParser& a) { s.config.bits = static_cast<int>(a.integer("--bits", s.config.bits, 2, 8)); };
    schema.field(bits);
  }
  schema.field(integer_setting<S>("--group-size", "group_size", "G", "columns per quantization group (-1: one per row)", -1,
                                  1 << 20, [](S& s) -> int64_t& { return s.config.group_size; }));
  schema.field(switch_setting<S>("--act-order", "desc_act", "quantize columns by decreasing Hessian diagonal", true,
                                 [](S& s) -> bool& { return s.config.desc_act; }));
  schema.field(switch_setting<S>("--static-groups", "static_groups", "with --act-order: groups on the original column order",
                                 true, [](S& s) -> bool& { return s.config.static_groups; }));
  {
    SettingField<S> sym{"--asym", "sym", "", "asymmetric weights (a zero point per group); --sym is the default"};
    sym.save = [](const S& s) { return json(s.config.sym); };
    sym.load = [](S& s, const json& j) { s.config.sym = j.get<bool>(); };
    sym.render = [](const S& s) { return s.config.sym ? std::vector<std::string>{} : std::vector<std::string>{"--asym"}; };
    sym.parse = [](S& s, const ArgParser& a) {
      if (a.flag("--sym") && a.flag("--asym")) throw UsageError("lowbit quantize: choose --sym or --asym, not both");
      if (a.flag("--asym")) s.config.sym = false;
      if (a.flag("--sym")) s.config.sym = true;
    };
    schema.field(sym);
    // Accepted so that a command line can say what it means; the --asym field reads both.
    SettingField<S> symmetric{"--sym", "", "", "symmetric weights (the default)"};
    symmetric.save = [](const S&) { return json(nullptr); };
    symmetric.load = [](S&, const json&) {};
    symmetric.render = [](const S&) { return std::vector<std::string>{}; };
    symmetric.parse = [](S&, const ArgParser&) {};
    schema.field(symmetric);
  }
  schema.field(switch_setting<S>("--no-true-sequential", "true_sequential",
                                 "quantize a layer's projections together, not q,k,v → o → gate,up → down", false,
                                 [](S& s) -> bool& { return s.config.true_sequential; }));
  schema.field(number_setting<S>("--damp", "damp_percent", "D", "Hessian dampening, a fraction of its mean diagonal", 1e-6,
                                 0.999, [](S& s) -> double& { return s.config.damp_percent; }));
  schema.field(choice_setting<S, QuantMethod>("--method", "method", "GPTQ, or round-to-nearest (no calibration)",
                                              {{"gptq", QuantMethod::Gptq}, {"rtn", QuantMethod::Rtn}},
                                              [](S& s) -> QuantMethod& { return s.config.method; }));
  {
    SettingField<S> format{"--format", "checkpoint_format", "gptq|gptq_v2",
                           "how zero points are stored (with --asym the default is gptq_v2)"};
    format.save = [](const S& s) { return json(s.config.checkpoint_format); };
    format.load = [](S& s, const json& j) { s.config.checkpoint_format = j.get<std::string>(); };
    format.render = [](const S& s) { return std::vector<std::string>{"--format", s.config.checkpoint_format}; };
    format.parse = [](S& s, const ArgParser& a) {
      s.config.checkpoint_format = a.choice("--format", default_format(s.config), {"gptq", "gptq_v2"});
    };
    schema.field(format);
  }
  schema.field(integer_setting<S>("--nsamples", "nsamples", "N", "calibration windows", 1, 1 << 20,
                                  [](S& s) -> int64_t& { return s.nsamples; }));
  schema.field(integer_setting<S>("--seqlen", "seqlen", "L", "tokens per calibration window", 2, 1 << 20,
                                  [](S& s) -> int64_t& { return s.seqlen; }));
  schema.field(seed_setting<S>("which calibration windows are drawn", [](S& s) -> uint64_t& { return s.seed; }));
  schema.field(string_setting<S>("--device", "device", "auto|cpu|cuda", "where to quantize (auto: the GPU when one is usable)",
                                 [](S& s) -> std::string& { return s.device; }));
  return schema;
}

}  // namespace

const SettingsSchema<QuantizeSettings>& quantize_settings_schema() {
  static const SettingsSchema<QuantizeSettings> schema = make_schema();
  return schema;
}

}  // namespace lowbit::quant
