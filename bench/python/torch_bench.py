"""The PyTorch side of bench-torch: the same measurements, written as a PyTorch user would, printed as JSON."""
import json
import sys
import time

import torch


def best_of(fn, repeats, rounds=3):
    """Seconds per call: the best of `rounds` timings of `repeats` calls (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        best = min(best, (time.perf_counter() - start) / repeats)
    return best


def main():
    shapes_path, threads, conv_repeats, add_repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    spec = json.load(open(shapes_path))
    results = {}
    for i, (cin, cout, k, s, size) in enumerate(spec["convs"]):
        x = torch.randn(spec["batch"], cin, size, size, requires_grad=i > 0)
        w = torch.randn(cout, cin, k, k, requires_grad=True)
        b = torch.randn(cout, requires_grad=True)
        out = (size + 2 * (k // 2) - k) // s + 1
        g = torch.ones(spec["batch"], cout, out, out)

        def step():
            y = torch.nn.functional.conv2d(x, w, b, stride=s, padding=k // 2)
            y.backward(g)

        results[f"conv {cin}->{cout} k{k} s{s} @{size}"] = best_of(step, conv_repeats)
    a, c = torch.ones(4), torch.ones(4)

    def adds():
        for _ in range(add_repeats):
            a + c

    results["small add"] = best_of(adds, 1) / add_repeats
    print(json.dumps({"threads": torch.get_num_threads(), "torch": torch.__version__, "results": results}))


if __name__ == "__main__":
    main()
