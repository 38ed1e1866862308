"""Zennit's side of bench/zennit.ts: torchvision's ResNet-50 under Zennit 0.5.1's EpsilonPlusFlat (with its
ResNetCanonizer, which merges each BatchNorm into its convolution as relprop folds it), on Debian's
PyTorch, timed in this process; bench/zennit.ts drives it and times relprop on the same weights and input.

    /usr/bin/python3 bench/time-zennit.py make WEIGHTS.pth
        seeded random weights (BatchNorm statistics drawn too, so that folding them matters), saved
    PYTHONPATH=<zennit 0.5.1>/src /usr/bin/python3 bench/time-zennit.py serve WEIGHTS.pth INPUT.bin THREADS
        prints 'ready', then answers each line read: 'explain N TARGET' and 'forward N' with the median
        milliseconds of N calls; 'relevance TARGET PATH' writes the relevance (float32, little-endian)

Zennit: git --git-dir=/work/.mirror/chr5tphr+zennit/repo archive 0.5.1 src/zennit | tar x -C /tmp/zennit-src
(fetch github:chr5tphr/zennit first), then PYTHONPATH=/tmp/zennit-src/src.
"""
import statistics
import sys
import time

import numpy as np
import torch
import torchvision


def make(path):
    torch.manual_seed(20261207)
    model = torchvision.models.resnet50()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    torch.save(model.state_dict(), path)


def serve(path, input_path, threads):
    from zennit.attribution import Gradient
    from zennit.composites import EpsilonPlusFlat
    from zennit.torchvision import ResNetCanonizer

    torch.set_num_threads(threads)
    model = torchvision.models.resnet50()
    model.load_state_dict(torch.load(path))
    model.eval()
    x = torch.from_numpy(np.fromfile(input_path, dtype='<f4').reshape(1, 3, 224, 224))
    attributor = Gradient(model=model, composite=EpsilonPlusFlat(canonizers=[ResNetCanonizer()]))
    attributor.__enter__()

    def explain(target):
        _, relevance = attributor(x, torch.eye(1000)[[target]])
        return relevance

    def timed(n, f):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            f()
            times.append((time.perf_counter() - t) * 1000)
        return statistics.median(times)

    print('ready', flush=True)
    for line in sys.stdin:
        words = line.split()
        if words[0] == 'explain':
            print(timed(int(words[1]), lambda: explain(int(words[2]))), flush=True)
        elif words[0] == 'forward':
            # Hooks off once for all N calls: the forward alone is what is timed.
            attributor.__exit__(None, None, None)
            with torch.no_grad():
                ms = timed(int(words[1]), lambda: model(x))
            attributor.__enter__()
            print(ms, flush=True)
        elif words[0] == 'relevance':
            explain(int(words[1])).detach().numpy().astype('<f4').tofile(words[2])
            print('written', flush=True)


if __name__ == '__main__':
    if sys.argv[1] == 'make':
        make(sys.argv[2])
    else:
        serve(sys.argv[2], sys.argv[3], int(sys.argv[4]))
