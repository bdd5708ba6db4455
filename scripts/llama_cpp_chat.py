#!/usr/bin/env python3
"""llama.cpp as the client of a GGUF file `lowbit export --to gguf` wrote: llama-cpp-python (PyPI; it builds
llama.cpp from source, about 10 minutes on two cores, so scripts/setup.sh does not install it) loads the file,
applies the chat template stored in it, and answers greedily.

  .venv/bin/pip install llama-cpp-python      # once
  llama_cpp_chat.py FILE.gguf "What is the capital of France?" [--max-tokens 48]
Prints the chat template llama.cpp found, then the answer.
"""
import argparse
import sys

try:
    from llama_cpp import Llama
except ImportError:
    print("SKIP: llama-cpp-python is not installed (.venv/bin/pip install llama-cpp-python)")
    sys.exit(77)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("gguf")
    parser.add_argument("question")
    parser.add_argument("--max-tokens", type=int, default=48)
    args = parser.parse_args()
    llm = Llama(model_path=args.gguf, n_ctx=512, n_threads=2, verbose=False, seed=0)
    template = llm.metadata.get("tokenizer.chat_template", "")
    print(f"llama.cpp {llm.metadata.get('general.architecture')} model, {llm.n_vocab()} tokens, chat template "
          f"{'from the file (' + str(len(template)) + ' characters)' if template else 'absent'}")
    reply = llm.create_chat_completion(messages=[{"role": "user", "content": args.question}], temperature=0.0,
                                       top_k=1, max_tokens=args.max_tokens)
    print(reply["choices"][0]["message"]["content"].strip())


if __name__ == "__main__":
    main()
