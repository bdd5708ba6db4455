#!/usr/bin/env python3
"""alpaca-lora's side of the instruction-data test (tests/core/test_instruction_data.cpp).

  alpaca_reference.py DATA.json TOKENIZER.model --cutoff N [--train-on-inputs] [--count K] --out OUT.json

Tokenizes the first K records exactly as alpaca-lora's finetune.py (tloen/alpaca-lora, the script the INT2.1
paper's EMEF fine-tuning is built on) does with its templates/alpaca.json and transformers' slow LlamaTokenizer
(legacy sentencepiece behaviour, BOS added), and writes {"input_ids": [[...]], "labels": [[...]]}.
"""
import argparse
import json

from transformers import LlamaTokenizer

TEMPLATE = {
    "prompt_input": "Below is an instruction that describes a task, paired with an input that provides further "
                    "context. Write a response that appropriately completes the request.\n\n### Instruction:\n"
                    "{instruction}\n\n### Input:\n{input}\n\n### Response:\n",
    "prompt_no_input": "Below is an instruction that describes a task. Write a response that appropriately "
                       "completes the request.\n\n### Instruction:\n{instruction}\n\n### Response:\n",
}


def generate_prompt(instruction, input=None, label=None):  # alpaca-lora utils/prompter.py
    if input:
        res = TEMPLATE["prompt_input"].format(instruction=instruction, input=input)
    else:
        res = TEMPLATE["prompt_no_input"].format(instruction=instruction)
    if label:
        res = f"{res}{label}"
    return res


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("data")
    parser.add_argument("tokenizer")
    parser.add_argument("--cutoff", type=int, required=True)
    parser.add_argument("--train-on-inputs", action="store_true")
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    tokenizer = LlamaTokenizer(vocab_file=args.tokenizer, legacy=True)
    tokenizer.pad_token_id = 0
    cutoff_len = args.cutoff

    # finetune.py's tokenize() and generate_and_tokenize_prompt(), add_eos_token=False as its default.
    def tokenize(prompt, add_eos_token=True):
        result = tokenizer(prompt, truncation=True, max_length=cutoff_len, padding=False, return_tensors=None)
        if (result["input_ids"][-1] != tokenizer.eos_token_id and len(result["input_ids"]) < cutoff_len
                and add_eos_token):
            result["input_ids"].append(tokenizer.eos_token_id)
            result["attention_mask"].append(1)
        result["labels"] = result["input_ids"].copy()
        return result

    def generate_and_tokenize_prompt(data_point):
        full_prompt = generate_prompt(data_point["instruction"], data_point["input"], data_point["output"])
        tokenized_full_prompt = tokenize(full_prompt)
        if not args.train_on_inputs:
            user_prompt = generate_prompt(data_point["instruction"], data_point["input"])
            tokenized_user_prompt = tokenize(user_prompt, add_eos_token=False)
            user_prompt_len = len(tokenized_user_prompt["input_ids"])
            tokenized_full_prompt["labels"] = [-100] * user_prompt_len + tokenized_full_prompt["labels"][user_prompt_len:]
        return tokenized_full_prompt

    records = json.load(open(args.data, encoding="utf-8"))[: args.count]
    examples = [generate_and_tokenize_prompt(r) for r in records]
    with open(args.out, "w") as f:
        json.dump({"input_ids": [e["input_ids"] for e in examples], "labels": [e["labels"] for e in examples]}, f)


if __name__ == "__main__":
    main()
