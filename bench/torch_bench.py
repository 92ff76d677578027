#!/usr/bin/python3
"""PyTorch figures for the cases of mnv2-bench, on this machine and in the same run.

Run with Debian's interpreter and packages (apt-get install python3-torch python3-torchvision):
    /usr/bin/python3 bench/torch_bench.py [--threads N] [--case NAME]... [--reps N] [--json]
Cases (medians, random inputs from a fixed seed):
    infer_standard224_b1_ms        canonical MobileNetV2 (torchvision), 1000 classes, 224x224, batch 1,
                                   XNNPACK (optimize_for_mobile on torch.jit.script); 30 runs after 3
    infer_standard224_b1_eager_ms  the same in eager mode (reported with the case above)
    infer_reduced32_b1_ms          reduced 32x32, 10 classes, batch 1, XNNPACK; 50 runs after 3
    train_reduced32_b32_img_s      reduced, batch 32, Adam, forward + backward + step; 10 steps after 2
    train_standard224_b32_img_s    canonical with 10 classes, 224x224, batch 32; 3 steps after 1
    train_reduced32_b32_peak_rss_mib  peak RSS of a fresh process (import torch included) running
                                   5 training steps of the reduced model at batch 32
SPDX-License-Identifier: BSD-2-Clause
"""
import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

CASES = ['train_reduced32_b32_peak_rss_mib', 'infer_standard224_b1_ms', 'infer_reduced32_b1_ms',
         'train_reduced32_b32_img_s', 'train_standard224_b32_img_s']
MNV2_ONLY = ['train_reduced32_b32_speedup', 'train_standard224_b32_speedup']  # measured by mnv2-bench alone

try:
    import torch
    import torch.nn as nn
    import torchvision
except ImportError as e:  # no PyTorch: say so, succeed
    msg = f'torch_bench.py: PyTorch not available ({e}); install python3-torch python3-torchvision ' \
          'and run with /usr/bin/python3'
    print(msg, file=sys.stderr)
    if '--json' in sys.argv:
        print(json.dumps({'error': msg}))
    sys.exit(0)


# The seed's reduced MobileNetV2 for 32x32 inputs (Table 3), as the shared reference torch_ref.py:
# stem 32 stride 2, blocks (t, c, n, s) below, head 256, no dropout; BN eps 1e-3, momentum 0.01.
def conv_bn(cin, cout, k, s, groups=1, relu=True):
    layers = [nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout, eps=1e-3, momentum=0.01)]
    return layers + [nn.ReLU6(inplace=True)] if relu else layers


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, t, s):
        super().__init__()
        hid = cin * t
        layers = conv_bn(cin, hid, 1, 1) if t != 1 else []
        layers += conv_bn(hid, hid, 3, s, groups=hid)
        layers += conv_bn(hid, cout, 1, 1, relu=False)
        self.body = nn.Sequential(*layers)
        self.res = s == 1 and cin == cout

    def forward(self, x):
        y = self.body(x)
        return x + y if self.res else y


def reduced(classes=10, in_ch=3):
    c = 32
    layers = conv_bn(in_ch, c, 3, 2)
    for t, cout, n, s in [(6, 64, 4, 1), (6, 96, 3, 2), (6, 160, 3, 1)]:
        for i in range(n):
            layers.append(InvertedResidual(c, cout, t, s if i == 0 else 1))
            c = cout
    layers += conv_bn(c, 256, 1, 1)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, classes))


def canonical(classes=1000):
    return torchvision.models.mobilenet_v2(num_classes=classes)


def med(fn, reps, warm):
    for _ in range(warm):
        fn()
    ts = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def xnnpack(model, x):
    from torch.utils.mobile_optimizer import optimize_for_mobile
    mo = optimize_for_mobile(torch.jit.script(model))
    mo(x)
    return mo


def infer_standard(reps):
    m = canonical(1000).eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        eager = med(lambda: m(x), reps or 30, 3)
        mo = xnnpack(m, x)
        xnn = med(lambda: mo(x), reps or 30, 3)
    return {'infer_standard224_b1_ms': xnn * 1e3, 'infer_standard224_b1_eager_ms': eager * 1e3}


def infer_reduced(reps):
    m = reduced(10).eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        mo = xnnpack(m, x)
        return {'infer_reduced32_b1_ms': med(lambda: mo(x), reps or 50, 3) * 1e3}


def train_steps(model, res, batch):
    m = model.train()
    opt = torch.optim.Adam(m.parameters(), 1e-3)
    x = torch.randn(batch, 3, res, res)
    y = torch.randint(0, 10, (batch,))
    lossf = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        lossf(m(x), y).backward()
        opt.step()
    return step


def train_reduced(reps):
    t = med(train_steps(reduced(10), 32, 32), reps or 10, 2)
    return {'train_reduced32_b32_img_s': 32 / t}


def train_standard(reps):
    t = med(train_steps(canonical(10), 224, 32), reps or 3, 1)
    return {'train_standard224_b32_img_s': 32 / t}


def rss_child():
    step = train_steps(reduced(10), 32, 32)
    for _ in range(5):
        step()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)  # KiB on Linux


def train_reduced_rss(threads):
    out = subprocess.run([sys.executable, __file__, '--rss-child', '--threads', str(threads)],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return {'train_reduced32_b32_peak_rss_mib': int(out.split()[-1]) / 1024}


def main():
    ap = argparse.ArgumentParser(description='PyTorch figures for the cases of mnv2-bench.')
    ap.add_argument('--threads', type=int, default=1, help='torch.set_num_threads (default 1)')
    # mnv2-only cases are accepted (compare.sh passes the same options to both) and skipped
    ap.add_argument('--case', action='append', choices=CASES + MNV2_ONLY, help='run only this case (repeatable)')
    ap.add_argument('--reps', type=int, default=0, help='measured repetitions of every case')
    ap.add_argument('--json', action='store_true', help='print one JSON object on stdout')
    ap.add_argument('--rss-child', action='store_true', help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.threads < 1 or a.reps < 0:
        ap.error('--threads must be >= 1 and --reps >= 0')
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.rss_child:
        rss_child()
        return
    cases = a.case or CASES
    run = {'train_reduced32_b32_peak_rss_mib': lambda: train_reduced_rss(a.threads),
           'infer_standard224_b1_ms': lambda: infer_standard(a.reps),
           'infer_reduced32_b1_ms': lambda: infer_reduced(a.reps),
           'train_reduced32_b32_img_s': lambda: train_reduced(a.reps),
           'train_standard224_b32_img_s': lambda: train_standard(a.reps)}
    res = {'torch': torch.__version__, 'threads': a.threads}
    for c in CASES:
        if c not in cases:
            continue
        if a.json:
            print(f'torch_bench.py: {c} ...', file=sys.stderr)
        r = run[c]()
        res.update(r)
        if not a.json:
            for k, v in r.items():
                unit = 'img/s' if k.endswith('img_s') else 'MiB' if k.endswith('mib') else 'ms'
                print(f'{k:34s} {v:10.2f} {unit}', flush=True)
    if a.json:
        print(json.dumps(res))
    else:
        print(f'(PyTorch {torch.__version__}, {a.threads} thread(s))')


if __name__ == '__main__':
    main()
