#!/usr/bin/python3
"""PyTorch side of `bench/run.sh peers`: the same two workloads as Tandem, eager, one thread.

  two-head: trunk 64->256 relu, two heads 256->10 softmax cross-entropy, batch 64, Adam 0.001,
            tasks alternating (each step updates the trunk and its own head), 8192 rows.
  conll:    CoNLL-2000 window tagger as examples/conll2000-alternate.json: window of 5 tokens,
            embeddings 50 (words, minCount 2) + 5 (capitalisation) + 10 (2-letter suffixes)
            + 20 (3-letter suffixes), tanh 300, heads tanh 200 -> 44 POS / 23 chunk tags,
            batch 256, Adam 0.002, tasks alternating.

Prints one JSON object: examples per second of each repetition (training steps only, after a
warm-up), the torch version and thread count. Install on Debian:
  apt-get install python3-torch libopenblas0-serial
and run with /usr/bin/python3 (not a pyenv python3). Without libopenblas0-serial, torch falls
back to the slow reference BLAS.
"""
import argparse
import collections
import json
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
import torch  # noqa: E402  (after OMP_NUM_THREADS)

torch.set_num_threads(1)
torch.set_num_interop_threads(1)


def two_head(args):
    g = torch.Generator().manual_seed(1)
    rows, features, classes, hidden, batch = 8192, 64, 10, 256, 64
    x = torch.randn(rows, features, generator=g)
    maps = [torch.randn(features, classes, generator=g) for _ in range(2)]
    labels = [torch.argmax(x @ m, dim=1) for m in maps]
    trunk = torch.nn.Sequential(torch.nn.Linear(features, hidden), torch.nn.ReLU())
    heads = [torch.nn.Linear(hidden, classes) for _ in range(2)]
    return run(alternating_step(trunk, heads, 0.001, x, labels, batch, g), batch, args)


def alternating_step(trunk, heads, rate, inputs, labels, batch, generator):
    """One step of task i % 2: a random batch through the trunk and that task's head, Adam on
    all parameters (a head without a gradient this step is left alone)."""
    params = list(trunk.parameters()) + [p for h in heads for p in h.parameters()]
    optimizer = torch.optim.Adam(params, lr=rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    rows = inputs.shape[0]

    def step(i):
        task = i % 2
        index = torch.randint(0, rows, (batch,), generator=generator)
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(heads[task](trunk(inputs[index])), labels[task][index])
        loss.backward()
        optimizer.step()
        return loss

    return step


def conll_features(path, words=None, suffixes=None, radius=2, min_count=2):
    """Token windows of CoNLL-2000: word, capitalisation and suffix ids; POS and chunk tags."""
    sentences, sentence = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.split()
            if not parts:
                if sentence:
                    sentences.append(sentence)
                sentence = []
                continue
            sentence.append(parts)
    if sentence:
        sentences.append(sentence)
    if words is None:
        counts = collections.Counter(t[0].lower() for s in sentences for t in s)
        words = {w: i + 2 for i, w in enumerate(sorted(w for w, c in counts.items()
                                                       if c >= min_count))}
        suffixes = []
        for n in (2, 3):
            ends = sorted({t[0].lower()[-n:] for s in sentences for t in s})
            suffixes.append({e: i + 2 for i, e in enumerate(ends)})

    def caps(word):
        if word.islower():
            return 1
        if word[:1].isupper() and word[1:].islower():
            return 2
        if word.isupper():
            return 3
        return 4

    tags = [{}, {}]
    window, pos, chunk = [], [], []
    for s in sentences:
        ids = [(words.get(t[0].lower(), 1), caps(t[0]),
                suffixes[0].get(t[0].lower()[-2:], 1), suffixes[1].get(t[0].lower()[-3:], 1))
               for t in s]
        for i, token in enumerate(s):
            row = []
            for feature in range(4):
                for k in range(i - radius, i + radius + 1):
                    row.append(ids[k][feature] if 0 <= k < len(s) else 0)
            window.append(row)
            pos.append(tags[0].setdefault(token[1], len(tags[0])))
            chunk.append(tags[1].setdefault(token[2], len(tags[1])))
    return (torch.tensor(window), torch.tensor(pos), torch.tensor(chunk), words, suffixes)


class Window(torch.nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.tables = torch.nn.ModuleList(torch.nn.Embedding(v, d) for v, d in sizes)

    def forward(self, ids):
        parts = [table(ids[:, 5 * t:5 * t + 5]).flatten(1) for t, table in enumerate(self.tables)]
        return torch.cat(parts, dim=1)


def conll(args):
    window, pos, chunk, words, suffixes = conll_features(args.conll_train)
    sizes = [(len(words) + 2, 50), (5, 5), (len(suffixes[0]) + 2, 10),
             (len(suffixes[1]) + 2, 20)]
    trunk = torch.nn.Sequential(Window(sizes), torch.nn.Linear(425, 300), torch.nn.Tanh())
    heads = [torch.nn.Sequential(torch.nn.Linear(300, 200), torch.nn.Tanh(),
                                 torch.nn.Linear(200, classes)) for classes in (44, 23)]
    g = torch.Generator().manual_seed(1)
    return run(alternating_step(trunk, heads, 0.002, window, [pos, chunk], 256, g), 256, args)


def run(step, batch, args):
    for i in range(args.warmup):
        step(i)
    rates = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for i in range(args.steps):
            step(i)
        rates.append(args.steps * batch / (time.perf_counter() - start))
        print(f"  pytorch {args.workload}: {rates[-1]:.0f} examples/s", file=sys.stderr)
    return rates


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=["two-head", "conll"])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--conll-train", default="../shared/data/conll2000/train.txt")
    args = parser.parse_args()
    rates = two_head(args) if args.workload == "two-head" else conll(args)
    print(json.dumps({"workload": args.workload, "examplesPerSecond": rates,
                      "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "blas": blas()}))


def blas():
    """Which BLAS Debian's torch (built against the generic libblas.so.3) loads."""
    link = "/usr/lib/x86_64-linux-gnu/libblas.so.3"
    return os.path.realpath(link) if os.path.exists(link) else "unknown"


if __name__ == "__main__":
    main()
