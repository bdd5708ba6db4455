#!/usr/bin/env python3
"""Writes the expected output of transformers' apply_chat_template for the chat templates in testdata.

tests/core/test_chat_template.cpp renders the same conversations with lowbit::tokenizer::ChatTemplate and
compares byte for byte. One JSON file per template:

  {"name": ..., "template": <source text>, "template_path": <relative to testdata>,
   "cases": [{"name", "messages", "add_generation_prompt", "variables",
              "expected": <string>}  or  {..., "error": {"type": <exception class>, "message": <text>}}]}

"variables" are exactly the extra context transformers passes to the template besides messages/tools/
documents/add_generation_prompt (the tokenizer's special_tokens_map plus our kwargs), and "tools" when a case
has tools. done.json is written last so a half-written folder is never mistaken for a complete one.

Usage: HF_HUB_OFFLINE=1 python scripts/make_chat_template_fixtures.py --out DIR --testdata DIR
"""
import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

import jinja2  # noqa: E402
import transformers  # noqa: E402
from transformers import AutoTokenizer, PreTrainedTokenizerFast  # noqa: E402

# The special tokens each model's tokenizer_config.json declares; the .jinja files come without one.
JINJA_TEMPLATES = {
    "meta-llama-Llama-3.1-8B-Instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "meta-llama-Llama-3.2-3B-Instruct": ("<|begin_of_text|>", "<|eot_id|>"),
    "microsoft-Phi-3.5-mini-instruct": ("<s>", "<|endoftext|>"),
    "google-gemma-2-2b-it": ("<bos>", "<eos>"),
    "mistralai-Mistral-Nemo-Instruct-2407": ("<s>", "</s>"),
    "deepseek-ai-DeepSeek-R1-Distill-Llama-8B": ("<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"),
}
MODEL_FOLDERS = ["smollm2-135m-instruct", "tinyllama"]

TRICKY = "Ünïcödé ✓ 日本語 🦙\nsecond line\twith tab, \"double\" and 'single' quotes, \\backslash {{ not jinja }}  "

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name, e.g. Zürich"}},
            "required": ["city"],
        },
    },
}


def conversations(name):
    """(case name, messages, extra kwargs) for one template."""
    user = {"role": "user", "content": "Hello, who are you?"}
    system = {"role": "system", "content": "You are a concise assistant."}
    assistant = {"role": "assistant", "content": "I am an assistant."}
    follow_up = {"role": "user", "content": "What is 2 + 2?"}
    convs = [
        ("single_user", [user], {}),
        ("system_user", [system, user], {}),
        ("multi_turn", [user, assistant, follow_up], {}),
        ("system_multi_turn", [system, user, assistant, follow_up], {}),
        ("tricky_content", [{"role": "user", "content": TRICKY}, {"role": "assistant", "content": "  " + TRICKY},
                            {"role": "user", "content": "\n" + TRICKY}], {}),
        ("assistant_first", [assistant, user], {}),
        ("empty_content", [{"role": "user", "content": ""}], {}),
    ]
    if name.startswith("meta-llama"):
        tool_call = {"role": "assistant", "tool_calls": [
            {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Zürich"}}}]}
        tool_result = {"role": "tool", "content": "{\"temperature\": 21, \"sky\": \"clear\"}"}
        convs += [
            ("tools_in_user_message", [system, {"role": "user", "content": "Weather in Zürich?"}],
             {"tools": [WEATHER_TOOL]}),
            ("tools_in_system", [system, {"role": "user", "content": "Weather in Zürich?"}],
             {"tools": [WEATHER_TOOL], "tools_in_user_message": False}),
            ("tool_call_round_trip", [{"role": "user", "content": "Weather in Zürich?"}, tool_call, tool_result],
             {"tools": [WEATHER_TOOL]}),
            ("custom_date", [user], {"date_string": "01 Feb 2025"}),
            ("builtin_tools", [system, user], {"builtin_tools": ["brave_search", "code_interpreter", "wolfram_alpha"]}),
        ]
    if name.startswith("mistralai"):
        tool_call = {"role": "assistant", "tool_calls": [
            {"id": "abcdef123", "type": "function",
             "function": {"name": "get_weather", "arguments": "{\"city\": \"Zürich\"}"}}]}
        convs += [
            ("tools", [system, {"role": "user", "content": "Weather in Zürich?"}], {"tools": [WEATHER_TOOL]}),
            ("tool_call_round_trip", [{"role": "user", "content": "Weather?"}, tool_call,
                                      {"role": "tool", "tool_call_id": "abcdef123", "content": "sunny"}], {}),
            ("bad_tool_call_id", [{"role": "user", "content": "Weather?"},
                                  {"role": "tool", "tool_call_id": "short", "content": "sunny"}], {}),
            ("unknown_role", [{"role": "critic", "content": "x"}], {}),
        ]
    if name.startswith("deepseek"):
        convs += [
            ("think_stripped", [user, {"role": "assistant", "content": "<think>\nhmm\n</think>\n\nFour."}, follow_up],
             {}),
        ]
    return convs


def render_cases(tokenizer, name, date_needed):
    cases = []
    for case_name, messages, extra in conversations(name):
        for agp in (False, True):
            kwargs = dict(extra)
            if date_needed and "date_string" not in kwargs:
                # Llama 3.2 falls back to strftime_now: pin the date so the expected text is reproducible.
                kwargs["date_string"] = "26 Jul 2024"
            tools = kwargs.pop("tools", None)
            variables = {**tokenizer.special_tokens_map, **kwargs}
            if tools is not None:
                variables["tools"] = tools
            case = {"name": f"{case_name}/{'gen' if agp else 'nogen'}", "messages": messages,
                    "add_generation_prompt": agp, "variables": variables}
            try:
                case["expected"] = tokenizer.apply_chat_template(
                    messages, tools=tools, tokenize=False, add_generation_prompt=agp, **kwargs)
            except Exception as e:  # the C++ renderer must fail the same way
                case["error"] = {"type": type(e).__name__, "message": str(e)}
            cases.append(case)
    return cases


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--testdata", required=True)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    done_path = os.path.join(args.out, "done.json")
    if os.path.exists(done_path):
        os.remove(done_path)

    tokenizer_json = os.path.join(args.testdata, "tokenizers", "tinyllama", "tokenizer.json")
    written = {}
    for name, (bos, eos) in JINJA_TEMPLATES.items():
        rel = os.path.join("chat_templates", name + ".jinja")
        with open(os.path.join(args.testdata, rel), encoding="utf-8", newline="") as f:
            source = f.read()
        tok = PreTrainedTokenizerFast(tokenizer_file=tokenizer_json, bos_token=bos, eos_token=eos)
        tok.chat_template = source
        cases = render_cases(tok, name, date_needed=name.startswith("meta-llama-Llama-3.2"))
        written[name] = write(args.out, name, source, rel, cases)
    for folder in MODEL_FOLDERS:
        model_dir = os.path.join(args.testdata, "tokenizers", folder)
        tok = AutoTokenizer.from_pretrained(model_dir)
        rel = os.path.join("tokenizers", folder)
        written[folder] = write(args.out, folder, tok.chat_template, rel, render_cases(tok, folder, False))

    with open(done_path, "w", encoding="utf-8") as f:
        json.dump({"transformers": transformers.__version__, "jinja2": jinja2.__version__, "cases": written}, f,
                  indent=1)
    print(f"wrote {sum(written.values())} cases for {len(written)} templates to {args.out}")


def write(out, name, source, rel, cases):
    with open(os.path.join(out, name + ".json"), "w", encoding="utf-8") as f:
        json.dump({"name": name, "template": source, "template_path": rel, "cases": cases}, f, ensure_ascii=False,
                  indent=1)
    return len(cases)


if __name__ == "__main__":
    sys.exit(main())
