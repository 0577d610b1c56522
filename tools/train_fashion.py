#!/usr/bin/env python3
"""Train and export the shipped Fashion-MNIST model package.

Trains a small class-conditional UNet (epsilon prediction, DDPM linear
schedule, classifier-free guidance dropout) and a small CNN classifier used
as the quality model, then exports a model package folder:

    network.pt                      TorchScript of the EMA UNet
                                    forward(x[B,1,32,32] f32, t[B] f32, c[B] i64)
    classifier.pt                   TorchScript classifier: forward -> logits,
                                    features -> penultimate features
    classifier_features_mean.npy    float64 [F]
    classifier_features_cov.npy     float64 [F,F]
    model.json                      package description

Only the standard library, torch and numpy are used.

Usage:
    python3 tools/train_fashion.py --workdir /tmp/fashion_work
    python3 tools/train_fashion.py --smoke          # quick end-to-end check
Re-running with the same --workdir resumes from the last checkpoint.
"""

import argparse
import gzip
import io
import json
import math
import os
import struct
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = "/usr/share/datasets/fashion-mnist"

LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
NUM_CLASSES = 10
NULL_CLASS = 10
NUM_TRAIN_TIMESTEPS = 1000
BETA_START = 0.0001
BETA_END = 0.02

DEFAULT_ITERS = 4000
SMOKE_ITERS = 4


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

def _find_idx(data_dir, stem):
    for name in (stem, stem + ".gz"):
        p = Path(data_dir) / name
        if p.exists():
            return p
    raise FileNotFoundError("missing %s(.gz) in %s" % (stem, data_dir))


def read_idx(path):
    """Read an IDX file (optionally gzipped) into a numpy array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError("unsupported IDX header in %s" % path)
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError("truncated IDX file %s" % path)
    return arr.reshape(dims)


def preprocess(images_u8):
    """uint8 [N,28,28] -> float32 [N,1,32,32] in [-1,1], padded with -1."""
    x = images_u8.astype(np.float32) / 127.5 - 1.0
    x = np.pad(x, ((0, 0), (2, 2), (2, 2)), mode="constant", constant_values=-1.0)
    return np.ascontiguousarray(x[:, None, :, :], dtype=np.float32)


def load_fashion(data_dir):
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        imgs = read_idx(_find_idx(data_dir, prefix + "-images-idx3-ubyte"))
        labels = read_idx(_find_idx(data_dir, prefix + "-labels-idx1-ubyte"))
        if imgs.shape[0] != labels.shape[0]:
            raise ValueError("image/label count mismatch for " + split)
        out[split] = (preprocess(imgs), labels.astype(np.int64))
    return out


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

def _gn(ch):
    return nn.GroupNorm(min(8, ch), ch)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb_dim):
        super().__init__()
        self.norm1 = _gn(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, cout)
        self.norm2 = _gn(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        if cin != cout:
            self.skip = nn.Conv2d(cin, cout, 1)
        else:
            self.skip = nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return h + self.skip(x)


class Down(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.conv = nn.Conv2d(ch, ch, 3, stride=2, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Up(nn.Module):
    """2x upsampling with a 2x2 stride-2 transposed convolution (cheap on CPU)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.conv = nn.ConvTranspose2d(cin, cout, 2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class UNet(nn.Module):
    """Class-conditional UNet, 32x32 -> 16x16 -> 8x8.

    forward(x [B,1,32,32] float32, t [B] float32 in [0,999], c [B] int64 in
    0..10 where 10 is the null class) -> predicted epsilon [B,1,32,32].

    down_blocks[i] residual blocks run on the way down at level i; on the way
    up every level has one residual block on [upsampled, skip] concatenated.
    """

    def __init__(self, ch=(16, 48, 128), down_blocks=(1, 1, 1), mid_blocks=1, emb_dim=128,
                 time_dim=64):
        super().__init__()
        self.time_dim = time_dim
        half = self.time_dim // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs)
        self.time_mlp = nn.Sequential(nn.Linear(self.time_dim, emb_dim), nn.SiLU(),
                                      nn.Linear(emb_dim, emb_dim))
        self.class_emb = nn.Embedding(NUM_CLASSES + 1, emb_dim)
        self.conv_in = nn.Conv2d(1, ch[0], 3, padding=1)

        self.down_blocks = nn.ModuleList()
        self.downs = nn.ModuleList()
        skip_ch = []
        cur = ch[0]
        for lvl, c in enumerate(ch):
            blk = nn.ModuleList()
            for _ in range(down_blocks[lvl]):
                blk.append(ResBlock(cur, c, emb_dim))
                cur = c
            self.down_blocks.append(blk)
            skip_ch.append(cur)
            if lvl < len(ch) - 1:
                self.downs.append(Down(cur))
            else:
                self.downs.append(nn.Identity())

        self.mid = nn.ModuleList([ResBlock(cur, cur, emb_dim) for _ in range(mid_blocks)])

        self.up_blocks = nn.ModuleList()
        self.ups = nn.ModuleList()
        for lvl in reversed(range(len(ch))):
            self.up_blocks.append(ResBlock(cur + skip_ch[lvl], ch[lvl], emb_dim))
            cur = ch[lvl]
            if lvl > 0:
                self.ups.append(Up(cur, skip_ch[lvl - 1]))
                cur = skip_ch[lvl - 1]
            else:
                self.ups.append(nn.Identity())

        self.norm_out = _gn(cur)
        self.conv_out = nn.Conv2d(cur, 1, 3, padding=1)
        nn.init.zeros_(self.conv_out.weight)
        nn.init.zeros_(self.conv_out.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        args = t.to(torch.float32)[:, None] * self.freqs[None, :]
        temb = torch.cat([torch.sin(args), torch.cos(args)], dim=1)
        emb = self.time_mlp(temb) + self.class_emb(c.to(torch.int64))
        emb = F.silu(emb)

        h = self.conv_in(x)
        skips = []
        for blk, down in zip(self.down_blocks, self.downs):
            for rb in blk:
                h = rb(h, emb)
            skips.append(h)
            h = down(h)
        for rb in self.mid:
            h = rb(h, emb)
        i = len(skips) - 1
        for rb, up in zip(self.up_blocks, self.ups):
            h = rb(torch.cat([h, skips[i]], dim=1), emb)
            h = up(h)
            i -= 1
        return self.conv_out(F.silu(self.norm_out(h)))


class Classifier(nn.Module):
    """Small CNN on 32x32 [-1,1] images; features are the pooled 128-d vector."""

    def __init__(self, feat_dim=128):
        super().__init__()

        def cbr(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

        self.body = nn.Sequential(
            *cbr(1, 32), nn.MaxPool2d(2),                       # 16x16
            *cbr(32, 64), *cbr(64, 64), nn.MaxPool2d(2),        # 8x8
            *cbr(64, 128), *cbr(128, feat_dim), nn.MaxPool2d(2),  # 4x4
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(feat_dim, NUM_CLASSES)

    @torch.jit.export
    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x)
        return h.mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.features(x)))


def count_params(model):
    return sum(p.numel() for p in model.parameters())


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------

def atomic_write_bytes(path, data):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_torch_save(obj, path):
    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(path, buf.getvalue())


def atomic_np_save(path, arr):
    buf = io.BytesIO()
    np.save(buf, arr)
    atomic_write_bytes(path, buf.getvalue())


def atomic_jit_save(module, path):
    buf = io.BytesIO()
    torch.jit.save(module, buf)
    atomic_write_bytes(path, buf.getvalue())


def fmt_time(s):
    s = int(max(0, s))
    return "%d:%02d:%02d" % (s // 3600, (s % 3600) // 60, s % 60)


def ddpm_alphas_cumprod():
    betas = torch.linspace(BETA_START, BETA_END, NUM_TRAIN_TIMESTEPS, dtype=torch.float64)
    return torch.cumprod(1.0 - betas, dim=0)


def lr_at(it, total, peak, warmup):
    if it < warmup:
        return peak * (it + 1) / warmup
    p = (it - warmup) / max(1, total - warmup)
    floor = 0.05 * peak
    return floor + (peak - floor) * 0.5 * (1.0 + math.cos(math.pi * min(1.0, p)))


def log(msg):
    print(msg, flush=True)


# --------------------------------------------------------------------------
# Diffusion training
# --------------------------------------------------------------------------

def package_iterations(package_dir):
    meta = json.loads((Path(package_dir) / "model.json").read_text())
    return int(meta.get("training", {}).get("iterations", 0))


def train_diffusion(args, train_x, train_y, workdir, on_stage=None):
    ckpt_path = workdir / "diffusion_ckpt.pt"
    model = UNet()
    ema = UNet()
    ema.load_state_dict(model.state_dict())
    for p in ema.parameters():
        p.requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.99), weight_decay=0.01)
    n_params = count_params(model)

    it = 0
    seconds = 0.0
    loss_hist = []
    base_iters = 0
    if args.init_from and not ckpt_path.exists():
        # Continue from a shipped package: its TorchScript network holds the EMA weights, which
        # start both the trained model and its EMA; the optimizer restarts with a short warm-up.
        shipped = torch.jit.load(str(Path(args.init_from) / "network.pt"), map_location="cpu")
        model.load_state_dict(shipped.state_dict())
        ema.load_state_dict(shipped.state_dict())
        base_iters = package_iterations(args.init_from)
        log("initialised from %s (%d iterations)" % (args.init_from, base_iters))
    if ckpt_path.exists():
        ck = torch.load(str(ckpt_path), map_location="cpu")
        model.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        it = ck["iteration"]
        seconds = ck["seconds"]
        loss_hist = ck["loss_hist"]
        base_iters = ck.get("base_iters", 0)
        torch.set_rng_state(ck["torch_rng"])
        np.random.set_state(ck["np_rng"])
        if ck["total_iters"] != args.iters:
            log("note: checkpoint was made for %d iterations, continuing to %d"
                % (ck["total_iters"], args.iters))
        log("resumed diffusion training at iteration %d (%.0f s so far)" % (it, seconds))

    log("UNet parameters: %d" % n_params)
    abar = ddpm_alphas_cumprod().to(torch.float32)
    sqrt_ab = abar.sqrt()
    sqrt_1m = (1.0 - abar).sqrt()
    train_x_t = torch.from_numpy(train_x)
    train_y_t = torch.from_numpy(train_y)
    n_train = train_x_t.shape[0]
    total = args.iters
    bs = args.batch_size
    warmup = min(args.warmup, max(1, total // 10))

    def save_ckpt():
        atomic_torch_save({
            "model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(),
            "iteration": it, "seconds": seconds, "loss_hist": loss_hist,
            "torch_rng": torch.get_rng_state(), "np_rng": np.random.get_state(),
            "total_iters": total, "parameters": n_params, "base_iters": base_iters,
        }, ckpt_path)

    def stage_info(iteration):
        final_loss = float(np.mean(loss_hist[-100:])) if loss_hist else float("nan")
        return {"iterations": base_iters + iteration, "final_loss": round(final_loss, 6),
                "seconds": round(seconds, 1), "parameters": n_params}

    model.train()
    t_window = time.time()
    it_window = it
    t_last = time.time()
    running = []
    while it < total:
        for g in opt.param_groups:
            g["lr"] = lr_at(it, total, args.lr, warmup)
        idx = torch.randint(0, n_train, (bs,))
        x0 = train_x_t[idx]
        y = train_y_t[idx].clone()
        drop = torch.rand(bs) < args.cfg_drop
        y[drop] = NULL_CLASS
        n = torch.randint(0, NUM_TRAIN_TIMESTEPS, (bs,))
        eps = torch.randn_like(x0)
        xn = sqrt_ab[n][:, None, None, None] * x0 + sqrt_1m[n][:, None, None, None] * eps
        pred = model(xn, n.to(torch.float32), y)
        loss = F.mse_loss(pred, eps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        # A resumed run keeps the full decay: its EMA already averages a trained model.
        decay = args.ema_decay if base_iters else min(args.ema_decay, (1.0 + it) / (10.0 + it))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), model.parameters()):
                pe.mul_(decay).add_(pm.detach(), alpha=1.0 - decay)
            for be, bm in zip(ema.buffers(), model.buffers()):
                be.copy_(bm)
        it += 1
        lv = float(loss.item())
        running.append(lv)
        loss_hist.append(lv)
        if len(loss_hist) > 200:
            del loss_hist[:-200]
        now = time.time()
        seconds += now - t_last
        t_last = now
        if it % args.log_every == 0 or it == total:
            rate = (it - it_window) / max(1e-9, now - t_window)
            eta = (total - it) / max(1e-9, rate)
            log("iter %6d/%d  loss %.5f  lr %.2e  %.2f it/s  elapsed %s  ETA %s"
                % (it, total, sum(running) / len(running), opt.param_groups[0]["lr"],
                   rate, fmt_time(seconds), fmt_time(eta)))
            running = []
            t_window = now
            it_window = it
        if it % args.save_every == 0 or it == total:
            save_ckpt()
            t_last = time.time()
        if on_stage is not None and args.export_every and it % args.export_every == 0 and it < total:
            ema.eval()
            on_stage(ema, stage_info(it))
            t_last = time.time()
    if not ckpt_path.exists():
        save_ckpt()
    ema.eval()
    return ema, stage_info(it)


# --------------------------------------------------------------------------
# Classifier training
# --------------------------------------------------------------------------

@torch.no_grad()
def batched(fn, x, bs=500):
    outs = []
    for i in range(0, x.shape[0], bs):
        outs.append(fn(x[i:i + bs]))
    return torch.cat(outs, 0)


def train_classifier(args, train_x, train_y, test_x, test_y, workdir):
    ckpt_path = workdir / "classifier_ckpt.pt"
    clf = Classifier()
    if args.init_from and not ckpt_path.exists():
        # Keep the shipped quality model so that metrics stay comparable across stages.
        shipped = torch.jit.load(str(Path(args.init_from) / "classifier.pt"), map_location="cpu")
        clf.load_state_dict(shipped.state_dict())
        atomic_torch_save({"model": clf.state_dict()}, ckpt_path)
        log("reusing the classifier of %s" % args.init_from)
    elif ckpt_path.exists():
        clf.load_state_dict(torch.load(str(ckpt_path), map_location="cpu")["model"])
        log("loaded trained classifier from %s" % ckpt_path)
    else:
        g = torch.Generator().manual_seed(args.seed + 1)
        xs = torch.from_numpy(train_x)
        ys = torch.from_numpy(train_y)
        n = xs.shape[0]
        bs = 128
        steps_per_epoch = max(1, n // bs)
        total = steps_per_epoch * args.clf_epochs
        opt = torch.optim.AdamW(clf.parameters(), lr=2e-3, weight_decay=5e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=total, pct_start=0.2)
        step = 0
        t0 = time.time()
        for ep in range(args.clf_epochs):
            clf.train()
            perm = torch.randperm(n, generator=g)
            run = []
            for s in range(steps_per_epoch):
                idx = perm[s * bs:(s + 1) * bs]
                xb = xs[idx]
                # light augmentation: random horizontal flip and +-2 px shift
                flip = torch.rand(xb.shape[0], generator=g) < 0.5
                xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
                dx, dy = [int(v) for v in torch.randint(-2, 3, (2,), generator=g)]
                xb = F.pad(xb, (2, 2, 2, 2), value=-1.0)[:, :, 2 + dy:34 + dy, 2 + dx:34 + dx]
                loss = F.cross_entropy(clf(xb), ys[idx], label_smoothing=0.05)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                step += 1
                run.append(float(loss.item()))
                if step % args.log_every == 0:
                    log("classifier epoch %d step %d/%d loss %.4f (%.0f s)"
                        % (ep + 1, step, total, sum(run) / len(run), time.time() - t0))
                    run = []
        atomic_torch_save({"model": clf.state_dict()}, ckpt_path)
    clf.eval()
    logits = batched(clf, torch.from_numpy(test_x))
    acc = float((logits.argmax(1).numpy() == test_y).mean())
    log("classifier test accuracy: %.4f on %d images" % (acc, test_x.shape[0]))
    return clf, acc


# --------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------

def export_package(args, ema, clf, train_info, acc, test_x, out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    ema = ema.eval().float()
    clf = clf.eval().float()

    net_ts = torch.jit.script(ema)
    atomic_jit_save(net_ts, out_dir / "network.pt")
    clf_ts = torch.jit.script(clf)
    atomic_jit_save(clf_ts, out_dir / "classifier.pt")

    with torch.no_grad():
        feats = batched(clf.features, torch.from_numpy(test_x)).double().numpy()
    mean = feats.mean(axis=0).astype("<f8")
    cov = np.cov(feats, rowvar=False).astype("<f8")
    atomic_np_save(out_dir / "classifier_features_mean.npy", mean)
    atomic_np_save(out_dir / "classifier_features_cov.npy", cov)
    log("classifier features: F=%d, cov min eigenvalue %.3e"
        % (mean.shape[0], float(np.linalg.eigvalsh(cov).min())))

    meta = {
        "name": "fashion-mnist-32",
        "network": "network.pt",
        "prediction_type": "epsilon",
        "scheduler": {"num_train_timesteps": NUM_TRAIN_TIMESTEPS, "beta_schedule": "linear",
                      "beta_start": BETA_START, "beta_end": BETA_END},
        "sample_shape": [1, 32, 32],
        "conditioning": {"type": "class", "num_classes": NUM_CLASSES, "null_class": NULL_CLASS,
                         "labels": LABELS},
        "value_range": [-1, 1],
        "quality": {"classifier": "classifier.pt",
                    "feature_mean": "classifier_features_mean.npy",
                    "feature_cov": "classifier_features_cov.npy",
                    "test_accuracy": round(acc, 4)},
        "training": train_info,
    }
    atomic_write_bytes(out_dir / "model.json", (json.dumps(meta, indent=2) + "\n").encode())

    probe_package(out_dir, ema, clf)
    size = sum(p.stat().st_size for p in out_dir.iterdir() if p.is_file())
    log("package written to %s (%.2f MB)" % (out_dir, size / 1e6))
    if size > 12 * 1024 * 1024:
        raise SystemExit("package too large: %d bytes" % size)


@torch.no_grad()
def probe_package(out_dir, ema, clf):
    net = torch.jit.load(str(out_dir / "network.pt"), map_location="cpu")
    g = torch.Generator().manual_seed(1234)
    for b in (1, 7):
        x = torch.randn(b, 1, 32, 32, generator=g, dtype=torch.float32)
        t = torch.linspace(0.0, 999.0, b, dtype=torch.float32)
        c = torch.arange(b, dtype=torch.int64) % (NUM_CLASSES + 1)
        y = net(x, t, c)
        if y.dtype != torch.float32 or tuple(y.shape) != (b, 1, 32, 32):
            raise SystemExit("network probe failed: %s %s" % (y.dtype, tuple(y.shape)))
        if not torch.isfinite(y).all():
            raise SystemExit("network probe produced non-finite values")
        ref = ema(x, t, c)
        if not torch.allclose(y, ref, atol=1e-4, rtol=1e-4):
            raise SystemExit("scripted network differs from eager model")
    cl = torch.jit.load(str(out_dir / "classifier.pt"), map_location="cpu")
    x = torch.randn(7, 1, 32, 32, generator=g)
    logits = cl(x)
    feats = cl.features(x)
    if tuple(logits.shape) != (7, NUM_CLASSES) or feats.dim() != 2 or feats.shape[0] != 7:
        raise SystemExit("classifier probe failed")
    if not torch.allclose(logits, clf(x), atol=1e-4, rtol=1e-4):
        raise SystemExit("scripted classifier differs from eager model")
    meta = json.loads((out_dir / "model.json").read_text())
    for key in ("network",):
        assert (out_dir / meta[key]).exists()
    for key in ("classifier", "feature_mean", "feature_cov"):
        assert (out_dir / meta["quality"][key]).exists()
    log("probe ok: network.pt (batch 1 and 7), classifier.pt forward/features")


def write_test_subset(test_x, test_y, out_dir, n=300):
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_np_save(out_dir / "fashion_test_subset_images.npy", test_x[:n].astype("<f4"))
    atomic_np_save(out_dir / "fashion_test_subset_labels.npy", test_y[:n].astype("<i8"))
    log("wrote test subset (%d images) to %s" % (n, out_dir))


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=DEFAULT_DATA_DIR, help="folder with Fashion-MNIST IDX files")
    ap.add_argument("--workdir", default=None, help="checkpoint folder (resumes if a checkpoint exists)")
    ap.add_argument("--out", default=None, help="package output folder (default assets/models/fashion)")
    ap.add_argument("--iters", type=int, default=None,
                    help="diffusion training iterations (default %d)" % DEFAULT_ITERS)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--ema-decay", type=float, default=0.999)
    ap.add_argument("--cfg-drop", type=float, default=0.15)
    ap.add_argument("--clf-epochs", type=int, default=2)
    ap.add_argument("--save-every", type=int, default=250)
    ap.add_argument("--log-every", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--test-subset-dir", default=None, help="default tests/data")
    ap.add_argument("--write-test-subset", action=argparse.BooleanOptionalAction, default=None,
                    help="write tests/data/fashion_test_subset_*.npy (default: on, off with --smoke)")
    ap.add_argument("--init-from", default=None,
                    help="package folder whose network.pt (and classifier.pt) start the training")
    ap.add_argument("--export-every", type=int, default=0,
                    help="also export the package every N iterations (0: only at the end)")
    ap.add_argument("--smoke", action="store_true",
                    help="run a few iterations of every stage into a temporary folder")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    tmp_root = None
    if args.smoke:
        if args.iters is None:
            args.iters = SMOKE_ITERS
        args.clf_epochs = 1
        args.log_every = min(args.log_every, 2)
        args.save_every = min(args.save_every, 4)
        args.batch_size = min(args.batch_size, 8)
        if args.workdir is None or args.out is None:
            tmp_root = Path(tempfile.mkdtemp(prefix="train_fashion_smoke_"))
        if args.workdir is None:
            args.workdir = str(tmp_root / "work")
        if args.out is None:
            args.out = str(tmp_root / "out")
    if args.iters is None:
        args.iters = DEFAULT_ITERS
    if args.write_test_subset is None:
        args.write_test_subset = not args.smoke
    if args.out is None:
        args.out = str(REPO_ROOT / "assets" / "models" / "fashion")
    if args.workdir is None:
        args.workdir = str(REPO_ROOT / ".train_fashion_work")
    subset_dir = Path(args.test_subset_dir) if args.test_subset_dir else REPO_ROOT / "tests" / "data"
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out_dir = Path(args.out)

    t_start = time.time()
    data = load_fashion(args.data_dir)
    train_x, train_y = data["train"]
    test_x, test_y = data["test"]
    log("loaded Fashion-MNIST: train %s, test %s" % (train_x.shape, test_x.shape))
    if args.smoke:
        train_x, train_y = train_x[:256], train_y[:256]
        test_x, test_y = test_x[:300], test_y[:300]

    # The classifier is cheap: train it first so a too-low accuracy shows up early.
    clf, acc = train_classifier(args, train_x, train_y, test_x, test_y, workdir)
    if not args.smoke and acc < 0.90:
        raise SystemExit("classifier test accuracy %.4f < 0.90; retry with more --clf-epochs "
                         "(delete %s)" % (acc, workdir / "classifier_ckpt.pt"))
    def export_stage(stage_ema, stage_info):
        export_package(args, stage_ema, clf, stage_info, acc, test_x, out_dir)
        stage_ema.train()

    ema, info = train_diffusion(args, train_x, train_y, workdir, on_stage=export_stage)
    export_package(args, ema, clf, info, acc, test_x, out_dir)
    if args.write_test_subset:
        write_test_subset(data["test"][0], data["test"][1], subset_dir)
    log("done in %s; outputs in %s" % (fmt_time(time.time() - t_start), out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
