"""trainopt.np: the kernels on numpy arrays, their checks, and PyTorch where it is the reference."""
import math
import unittest

import numpy as np

import trainopt.np as tnp
from trainopt import TrainoptError

try:
    import torch
    import torch.nn.functional as F
    import trainopt.torch as tt
    SKIP = None
except ImportError as e:
    SKIP = "PyTorch is not importable (%s); Debian: python3-torch" % e


def rng(seed=0):
    return np.random.default_rng(seed)


def adam_arrays(n=37, seed=0):
    r = rng(seed)
    return [r.standard_normal(n).astype(np.float32) for _ in range(2)] + [np.zeros(n, np.float32) for _ in range(3)]


class Optimizers(unittest.TestCase):
    @unittest.skipIf(SKIP, SKIP)
    def test_same_bits_as_trainopt_torch(self):
        """The numpy function and the torch drop-in run the same kernel: the same bits after 30 steps,
        hyperparameters passed under their C names here and torch's there."""
        p, _, m, v, vmax = adam_arrays()
        q = torch.from_numpy(p.copy())
        opt = tt.AdamW([q], lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True)
        r = rng(1)
        for step in range(1, 31):
            g = r.standard_normal(p.size).astype(np.float32)
            tnp.adamw_step(p, g, m, v, vmax, step=step, lr=0.01, beta1=0.8, beta2=0.99, weight_decay=0.1, amsgrad=1)
            q.grad = torch.from_numpy(g.copy())
            opt.step()
        self.assertTrue(np.array_equal(p, q.numpy()))
        self.assertTrue(np.array_equal(vmax, opt.state[q]["max_exp_avg_sq"].numpy()))

    @unittest.skipIf(SKIP, SKIP)
    def test_against_torch_optim(self):
        """SGD with momentum is bit-exact, Adam within the C golden tests' 2e-6 over 40 steps."""
        r = rng(2)
        p = r.standard_normal(50).astype(np.float32)
        buf = np.zeros(50, np.float32)
        m, v = np.zeros(50, np.float32), np.zeros(50, np.float32)
        pa = p.copy()
        ts, ta = torch.from_numpy(p.copy()), torch.from_numpy(p.copy())
        osgd = torch.optim.SGD([ts], lr=0.05, momentum=0.9, nesterov=True)
        oadam = torch.optim.Adam([ta], lr=0.01)
        for step in range(1, 41):
            g = r.standard_normal(50).astype(np.float32)
            tnp.sgd_step(p, g, buf, step=step, lr=0.05, momentum=0.9, nesterov=1)
            tnp.adam_step(pa, g, m, v, step=step, lr=0.01)
            ts.grad, ta.grad = torch.from_numpy(g.copy()), torch.from_numpy(g.copy())
            osgd.step()
            oadam.step()
        self.assertTrue(np.array_equal(p, ts.numpy()))
        self.assertLessEqual(np.abs(pa - ta.numpy()).max(), 2e-6 * np.abs(pa).max())

    def test_fused_step(self):
        """_ex: grad_scale multiplies the gradients (a power of two: the same bits as pre-scaling),
        the count of non-finite gradients comes back, found_inf skips."""
        p, g, m, v, _ = adam_arrays()
        p2, m2, v2 = p.copy(), m.copy(), v.copy()
        g[3] = np.inf
        self.assertEqual(tnp.adam_step_ex(p, g, m, v, step=1, grad_scale=0.5), 1)
        tnp.adam_step(p2, g * np.float32(0.5), m2, v2, step=1)
        self.assertTrue(np.array_equal(p, p2, equal_nan=True))
        before = p.copy()
        self.assertEqual(tnp.adam_step_ex(p, g, m, v, step=2, found_inf=True), 0)
        self.assertTrue(np.array_equal(p, before, equal_nan=True))

    def test_defaults_are_the_librarys(self):
        self.assertIn("weight_decay=0.01", tnp.adamw_step.__doc__)
        self.assertIn("weight_decay=0.0", tnp.adam_step.__doc__)

    def test_errors_write_nothing(self):
        p, g, m, v, _ = adam_arrays()
        snapshot = [a.copy() for a in (p, g, m, v)]

        def unchanged():
            for a, b in zip((p, g, m, v), snapshot):
                self.assertTrue(np.array_equal(a, b))

        with self.assertRaisesRegex(TypeError, "adam_step: grad has dtype float64; trainopt needs float32"):
            tnp.adam_step(p, g.astype(np.float64), m, v, step=1)
        with self.assertRaisesRegex(ValueError, "adam_step: exp_avg is not C-contiguous"):
            tnp.adam_step(p, g, np.zeros(74, np.float32)[::2], v, step=1)
        with self.assertRaisesRegex(ValueError, "adam_step: exp_avg_sq has 36 elements, 37 expected"):
            tnp.adam_step(p, g, m, v[:36], step=1)
        ro = m.copy()
        ro.setflags(write=False)
        with self.assertRaisesRegex(ValueError, "adam_step: exp_avg is read-only"):
            tnp.adam_step(p, g, ro, v, step=1)
        with self.assertRaisesRegex(TypeError, "adam_step: param must be a numpy array, not list"):
            tnp.adam_step(list(p), g, m, v, step=1)
        with self.assertRaisesRegex(TypeError, "unknown hyperparameter 'betas'"):
            tnp.adam_step(p, g, m, v, step=1, betas=(0.9, 0.99))
        with self.assertRaisesRegex(TrainoptError, r"^trainopt_adam_step: beta2 = 1 is outside \[0, 1\)"):
            tnp.adam_step(p, g, m, v, step=1, beta2=1.0)
        with self.assertRaisesRegex(TrainoptError, "max_exp_avg_sq"):
            tnp.adam_step(p, g, m, v, step=1, amsgrad=1)  # the state amsgrad needs is missing
        with self.assertRaisesRegex(TrainoptError, "step"):
            tnp.adam_step(p, g, m, v, step=0)
        try:
            tnp.adam_step(p, g, m, p, step=1)  # overlap
        except TrainoptError as e:
            self.assertEqual(e.status, "TRAINOPT_ERR_ALIAS")
        else:
            self.fail("overlap accepted")
        unchanged()


@unittest.skipIf(SKIP, SKIP)
class Schedules(unittest.TestCase):
    def lrs(self, make, steps, base=0.1):
        opt = torch.optim.SGD([torch.zeros(1)], lr=base)
        sched = make(opt)
        out = []
        for _ in range(steps):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return out

    def assert_schedule(self, ours, theirs):
        for t, (a, b) in enumerate(zip(ours, theirs)):
            self.assertLessEqual(abs(a - b), 1e-12 * abs(b), "t=%d: %r vs %r" % (t, a, b))

    def test_against_torch_schedulers(self):
        S = torch.optim.lr_scheduler
        self.assert_schedule([tnp.lr_cosine(0.1, t, 50, 1e-3) for t in range(80)],
                             self.lrs(lambda o: S.CosineAnnealingLR(o, 50, 1e-3), 80))
        self.assert_schedule([tnp.lr_step(0.1, t, 7, 0.5) for t in range(40)],
                             self.lrs(lambda o: S.StepLR(o, 7, 0.5), 40))
        self.assert_schedule([tnp.lr_multistep(0.1, t, [5, 9, 20], 0.3) for t in range(30)],
                             self.lrs(lambda o: S.MultiStepLR(o, [5, 9, 20], 0.3), 30))
        self.assert_schedule([tnp.lr_onecycle(t, max_lr=0.5, total_steps=60) for t in range(60)],
                             self.lrs(lambda o: S.OneCycleLR(o, 0.5, total_steps=60), 60))
        self.assert_schedule([tnp.Schedule("cosine:t_max=50,eta_min=1e-3", lr=0.1).lr(t) for t in range(80)],
                             self.lrs(lambda o: S.CosineAnnealingLR(o, 50, 1e-3), 80))
        join = tnp.Schedule("linear:start_factor=0.1,total_iters=5 @5 cosine:t_max=45", lr=0.1)
        self.assert_schedule([join.lr(t) for t in range(50)], self.lrs(lambda o: S.SequentialLR(
            o, [S.LinearLR(o, 0.1, total_iters=5), S.CosineAnnealingLR(o, 45)], [5]), 50))

    def test_plateau(self):
        opt = torch.optim.SGD([torch.zeros(1)], lr=0.1)
        ref = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=2, factor=0.5)
        ours = tnp.Plateau(0.1, patience=2, factor=0.5)
        for metric in [1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85, 0.85]:
            ref.step(metric)
            self.assertEqual(ours.step(metric), opt.param_groups[0]["lr"])

    def test_bad_text(self):
        with self.assertRaisesRegex(TrainoptError, 'unknown field "tmax"'):
            tnp.Schedule("cosine:tmax=5")
        self.assertTrue(math.isnan(tnp.lr_cosine(0.1, 1, -5, 0.0)))


class Dropout(unittest.TestCase):
    def test_mask_and_backward(self):
        x = rng(3).standard_normal(1001).astype(np.float32)
        y, mask = tnp.dropout_forward(x, 0.3, seed=42, offset=7, mask=True)
        kept = np.unpackbits(mask, bitorder="little")[:x.size].astype(bool)
        self.assertTrue(np.array_equal(y[~kept], np.zeros((~kept).sum(), np.float32)))
        self.assertTrue(np.array_equal(y[kept], x[kept] * np.float32(1 / 0.7)))
        self.assertAlmostEqual(kept.mean(), 0.7, delta=0.05)
        self.assertTrue(np.array_equal(tnp.dropout_forward(x, 0.3, seed=42, offset=7), y))
        dy = np.ones_like(x)
        self.assertTrue(np.array_equal(tnp.dropout_backward(dy, 0.3, 42, 7, mask),
                                       tnp.dropout_backward(dy, 0.3, 42, 7)))
        with self.assertRaisesRegex(TrainoptError, "p"):
            tnp.dropout_forward(x, 1.5, seed=1)

    def test_counter_based(self):
        """A value depends on (seed, offset + i) only: a chunk equals the whole call's slice."""
        whole = tnp.rand_uniform(100, 9, 0, -1.0, 1.0)
        self.assertTrue(np.array_equal(whole[40:], tnp.rand_uniform(60, 9, 40, -1.0, 1.0)))


@unittest.skipIf(SKIP, SKIP)
class BatchNormAndLosses(unittest.TestCase):
    def test_batchnorm_against_torch(self):
        x = rng(4).standard_normal((8, 3, 5, 5)).astype(np.float32)
        gamma, beta = np.full(3, 1.5, np.float32), np.full(3, 0.2, np.float32)
        rm, rv = np.zeros(3, np.float32), np.ones(3, np.float32)
        y, mean, invstd = tnp.batchnorm_forward_train(x, gamma, beta, rm, rv)
        trm, trv = torch.zeros(3), torch.ones(3)
        tx = torch.from_numpy(x).requires_grad_()
        tg, tb = torch.from_numpy(gamma).requires_grad_(), torch.from_numpy(beta).requires_grad_()
        ty = F.batch_norm(tx, trm, trv, tg, tb, training=True)
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(rm, trm.numpy(), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(rv, trv.numpy(), rtol=1e-6)
        dy = rng(5).standard_normal(x.shape).astype(np.float32)
        ty.backward(torch.from_numpy(dy))
        dx, dgamma, dbeta = tnp.batchnorm_backward(x, dy, mean, invstd, gamma)
        np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(dgamma, tg.grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(dbeta, tb.grad.numpy(), rtol=1e-5, atol=1e-5)
        # NHWC gives the same bits for the same tensor
        y2, _, _ = tnp.batchnorm_forward_train(np.ascontiguousarray(x.transpose(0, 2, 3, 1)), gamma, beta,
                                               layout="NHWC")
        self.assertTrue(np.array_equal(y2.transpose(0, 3, 1, 2), y))
        scale, shift = tnp.batchnorm_fold(gamma, beta, rm, rv)
        np.testing.assert_allclose(tnp.batchnorm_forward_infer(x, gamma, beta, rm, rv),
                                   x * scale[None, :, None, None] + shift[None, :, None, None], rtol=1e-5, atol=1e-5)
        with self.assertRaisesRegex(ValueError, "gamma has 4 elements, 3 expected"):
            tnp.batchnorm_forward_train(x, np.ones(4, np.float32))

    def test_losses_against_torch(self):
        r = rng(6)
        pred, target = r.standard_normal(100).astype(np.float32), r.standard_normal(100).astype(np.float32)
        loss, grad = tnp.mse_loss(pred, target)
        tp = torch.from_numpy(pred).requires_grad_()
        tl = F.mse_loss(tp, torch.from_numpy(target))
        tl.backward()
        self.assertAlmostEqual(loss, tl.item(), delta=1e-6 * abs(tl.item()))
        np.testing.assert_allclose(grad, tp.grad.numpy(), rtol=1e-6, atol=1e-9)
        prob = r.random(100).astype(np.float32)
        loss, grad = tnp.bce_with_logits(pred, prob)
        self.assertAlmostEqual(loss, F.binary_cross_entropy_with_logits(torch.from_numpy(pred),
                                                                        torch.from_numpy(prob)).item(), delta=1e-6)
        logits = r.standard_normal((16, 10)).astype(np.float32)
        labels = r.integers(0, 10, 16).astype(np.int32)
        labels[3] = -100
        loss, grad = tnp.softmax_cross_entropy(logits, labels, label_smoothing=0.1)
        tlog = torch.from_numpy(logits).requires_grad_()
        tl = F.cross_entropy(tlog, torch.from_numpy(labels).long(), label_smoothing=0.1)
        tl.backward()
        self.assertAlmostEqual(loss, tl.item(), delta=1e-6 * abs(tl.item()))
        np.testing.assert_allclose(grad, tlog.grad.numpy(), rtol=1e-5, atol=1e-7)
        labels[0] = 10
        with self.assertRaisesRegex(TrainoptError, "label"):
            tnp.softmax_cross_entropy(logits, labels)
        with self.assertRaisesRegex(TypeError, "labels has dtype int64; trainopt needs int32"):
            tnp.softmax_cross_entropy(logits, labels.astype(np.int64))

    def test_gradient_utilities(self):
        grads = [rng(7).standard_normal(30).astype(np.float32), rng(8).standard_normal(5).astype(np.float32)]
        tgrads = [torch.from_numpy(g.copy()) for g in grads]
        ps = [torch.zeros(g.shape, requires_grad=True) for g in grads]
        for p, g in zip(ps, tgrads):
            p.grad = g
        ref = torch.nn.utils.clip_grad_norm_(ps, 1.0)
        total = tnp.clip_grad_norm(grads, 1.0)
        self.assertAlmostEqual(total, ref.item(), delta=1e-6 * ref.item())
        for g, p in zip(grads, ps):
            np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-6, atol=1e-8)
        info = tnp.grad_norm(grads, 1.0, 0.5)
        self.assertFalse(info["found_inf"])
        self.assertEqual(tnp.sum_squares([np.array([3, 4], np.float32)]), (25.0, 0))


if __name__ == "__main__":
    unittest.main()


@unittest.skipIf(SKIP, SKIP)
class Norms(unittest.TestCase):
    """Layer, RMS and group normalization against PyTorch 1.13 (RMSNorm: a float64 reference, 1.13 has none)."""

    def setUp(self):
        if not hasattr(tnp, "layernorm_forward"):
            self.skipTest("the normalization kernels are not in this libtrainopt")

    def test_layernorm(self):
        r = rng(9)
        x = r.standard_normal((6, 4, 33)).astype(np.float32)
        w, b = r.standard_normal(33).astype(np.float32), r.standard_normal(33).astype(np.float32)
        y, mean, rstd = tnp.layernorm_forward(x, w, b)
        tx = torch.from_numpy(x).requires_grad_()
        tw, tb = torch.from_numpy(w).requires_grad_(), torch.from_numpy(b).requires_grad_()
        ty = F.layer_norm(tx, (33,), tw, tb)
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-5, atol=1e-5)
        self.assertEqual(mean.shape, (6, 4))
        dy = r.standard_normal(x.shape).astype(np.float32)
        ty.backward(torch.from_numpy(dy))
        dx, dw, db = tnp.layernorm_backward(x, dy, mean, rstd, w)
        np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(dw, tw.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-5, atol=1e-5)
        with self.assertRaisesRegex(ValueError, "weight has 32 elements, 33 expected"):
            tnp.layernorm_forward(x, w[:32])

    def test_rmsnorm(self):
        r = rng(10)
        x = r.standard_normal((5, 40)).astype(np.float32)
        w = r.standard_normal(40).astype(np.float32)
        y, rstd = tnp.rmsnorm_forward(x, w, eps=1e-6)
        x64 = x.astype(np.float64)
        ref = x64 / np.sqrt((x64 ** 2).mean(axis=1, keepdims=True) + 1e-6) * w
        np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
        dx, dw = tnp.rmsnorm_backward(x, np.ones_like(x), rstd, w, eps=1e-6)
        self.assertEqual((dx.shape, dw.shape), (x.shape, (40,)))

    def test_groupnorm(self):
        r = rng(11)
        x = r.standard_normal((3, 8, 5, 5)).astype(np.float32)
        w, b = r.standard_normal(8).astype(np.float32), r.standard_normal(8).astype(np.float32)
        y, mean, rstd = tnp.groupnorm_forward(x, 4, w, b)
        tx = torch.from_numpy(x).requires_grad_()
        ty = F.group_norm(tx, 4, torch.from_numpy(w), torch.from_numpy(b))
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-5, atol=1e-5)
        dy = r.standard_normal(x.shape).astype(np.float32)
        ty.backward(torch.from_numpy(dy))
        dx, _, _ = tnp.groupnorm_backward(x, dy, 4, mean, rstd, w)
        np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-4, atol=1e-5)


class LayerwiseAndFactored(unittest.TestCase):
    """LAMB and LARS (tensor lists), Adafactor, schedule-free AdamW: the Python plumbing (their numerics
    are the C suites'), once their kernels are in the library."""

    def arrays(self, sizes, seed):
        r = rng(seed)
        return [r.standard_normal(n).astype(np.float32) for n in sizes]

    def test_lists_are_per_tensor(self):
        """A two-tensor call equals each tensor's call alone, bit for bit (the trust ratio is per tensor)."""
        if not hasattr(tnp, "lamb_step"):
            self.skipTest("trainopt_lamb_step is not in this libtrainopt")
        for kernel, states, kw in (("lamb_step", 2, dict(step=3, lr=1e-2)), ("lars_step", 1, dict(lr=0.1))):
            f = getattr(tnp, kernel)
            params, grads = self.arrays([17, 40], 1), self.arrays([17, 40], 2)
            st = [[np.full(n, 0.01, np.float32) for n in (17, 40)] for _ in range(states)]
            alone = [[a.copy() for a in params]] + [[a.copy() for a in s] for s in st]
            f(params, grads, *st, **kw)
            for i in range(2):
                f([alone[0][i]], [grads[i]], *[[s[i]] for s in alone[1:]], **kw)
            for got, ref in zip([params] + st, alone):
                for a, b in zip(got, ref):
                    self.assertTrue(np.array_equal(a, b), kernel)
            with self.assertRaisesRegex(ValueError, "%s: grads has 1 arrays, 2 expected" % kernel):
                f(params, grads[:1], *st, **kw)
            with self.assertRaisesRegex(ValueError, r"%s: grads\[1\] has 39 elements, 40 expected" % kernel):
                f(params, [grads[0], grads[1][:39]], *st, **kw)

    def test_adafactor_fused_scale(self):
        if not hasattr(tnp, "adafactor_step"):
            self.skipTest("trainopt_adafactor_step is not in this libtrainopt")
        p = rng(3).standard_normal((6, 5)).astype(np.float32)
        g = rng(4).standard_normal((6, 5)).astype(np.float32)
        q = p.copy()
        rv, cv, rv2, cv2 = (np.zeros(6, np.float32), np.zeros(5, np.float32), np.zeros(6, np.float32),
                            np.zeros(5, np.float32))
        for step in range(1, 4):
            self.assertEqual(tnp.adafactor_step_ex(p, g, rv, cv, step=step, grad_scale=0.5), 0)
            tnp.adafactor_step(q, g * np.float32(0.5), rv2, cv2, step=step)
        self.assertTrue(np.array_equal(p, q))
        with self.assertRaisesRegex(ValueError, "param is not 2-D"):
            tnp.adafactor_step(p.ravel(), g.ravel(), rv, cv, step=1)

    def test_schedule_free(self):
        if not hasattr(tnp, "ScheduleFreeAdamW"):
            self.skipTest("schedule-free AdamW is not in this libtrainopt")
        a, b = tnp.ScheduleFreeAdamW(lr=1e-2), tnp.ScheduleFreeAdamW(lr=1e-2)
        y1, z1, v1 = self.arrays([33], 5)[0], None, np.zeros(33, np.float32)
        z1 = y1.copy()
        y2, z2, v2 = y1.copy(), z1.copy(), v1.copy()
        for _ in range(4):
            g = self.arrays([33], 6)[0]
            a.advance()
            b.advance()
            a.step(y1, g * np.float32(0.5), z1, v1)
            self.assertEqual(b.step(y2, g, z2, v2, grad_scale=0.5), 0)
        self.assertTrue(np.array_equal(y1, y2) and np.array_equal(z1, z2))
        x = a.to_eval(y1, z1)
        np.testing.assert_allclose(a.to_train(x, z1), y1, rtol=1e-5, atol=1e-6)


class LowPrecision(unittest.TestCase):
    """bf16 (uint16 bits) and fp16 (float16) arrays, the mixed-precision steps and the 8-bit states."""

    def widen(self, a):
        return tnp.convert(a, "float32")

    def test_convert_nearest(self):
        """Nearest rounding is numpy's float16 cast and torch's .to(torch.bfloat16), specials included."""
        x = np.concatenate([rng(2).standard_normal(4099).astype(np.float32) * 1e3,
                            np.array([0.0, -0.0, np.inf, -np.inf, 1e-40, 65520.0, 3.0e38], np.float32)])
        np.testing.assert_array_equal(tnp.convert(x, "float16").view(np.uint16), x.astype(np.float16).view(np.uint16))
        self.assertEqual(tnp.convert(x, "bfloat16").dtype, np.uint16)
        back = self.widen(tnp.convert(x, "bfloat16"))
        np.testing.assert_array_equal(tnp.convert(back, "bfloat16"), tnp.convert(x, "bfloat16"))
        if not SKIP:
            want = torch.from_numpy(x).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
            np.testing.assert_array_equal(tnp.convert(x, "bfloat16"), want)

    def test_convert_stochastic(self):
        """Stochastic rounding gives one of the two bf16 neighbours, the same bits for the same (seed,
        offset), and an unbiased mean; an offset continues the stream."""
        x = np.full(1 << 16, 1.0 + 2.0 ** -10, np.float32)  # 1/8 of the way from 1.0 to the next bf16
        a = tnp.convert(x, "bfloat16", rounding="stochastic", seed=7)
        self.assertTrue(set(np.unique(a).tolist()) <= {0x3f80, 0x3f81})
        np.testing.assert_array_equal(a, tnp.convert(x, "bfloat16", rounding="stochastic", seed=7))
        np.testing.assert_array_equal(a[100:], tnp.convert(x[100:], "bfloat16", rounding="stochastic", seed=7,
                                                             offset=100))
        self.assertAlmostEqual(float(self.widen(a).astype(np.float64).mean()), 1.0 + 2.0 ** -10, delta=2e-4)
        with self.assertRaises(ValueError):
            tnp.convert(x, "bfloat16", rounding="up")
        with self.assertRaises(TypeError):
            tnp.convert(x.astype(np.float64), "float16")

    def test_mixed_step_is_the_fp32_step_rounded(self):
        """bf16 parameter, gradient and states: the fp32 step on the widened arrays, then nearest rounding
        (the manual's MIXED PRECISION contract), for 5 steps."""
        r = rng(3)
        n = 1000
        p = tnp.convert(r.standard_normal(n).astype(np.float32), "bfloat16")
        m, v = np.zeros(n, np.uint16), np.zeros(n, np.uint16)
        for step in range(1, 6):
            g = tnp.convert(r.standard_normal(n).astype(np.float32), "bfloat16")
            pf, gf, mf, vf = (self.widen(a) for a in (p, g, m, v))
            tnp.adamw_step(pf, gf, mf, vf, None, step=step, lr=0.01, weight_decay=0.1)
            tnp.adamw_step_mp(p, g, m, v, None, step=step, lr=0.01, weight_decay=0.1)
            for got, want in ((p, pf), (m, mf), (v, vf)):
                np.testing.assert_array_equal(got, tnp.convert(want, "bfloat16"))

    def test_mixed_nadam_takes_its_mu_product(self):
        """NAdam's _mp step takes mu_product as its fp32 step does (a keyword) and is that step on the
        widened bf16 arrays, rounded to nearest."""
        r = rng(4)
        n = 777
        p = tnp.convert(r.standard_normal(n).astype(np.float32), "bfloat16")
        m, v = np.zeros(n, np.uint16), np.zeros(n, np.uint16)
        mu_product = 1.0
        for step in range(1, 5):
            mu = 0.9 * (1.0 - 0.5 * 0.96 ** (step * 4e-3))  # trainopt_nadam_mu_product's, in float32
            mu_product = float(np.float32(mu_product) * np.float32(mu))
            g = tnp.convert(r.standard_normal(n).astype(np.float32), "bfloat16")
            pf, gf, mf, vf = (self.widen(a) for a in (p, g, m, v))
            tnp.nadam_step(pf, gf, mf, vf, step=step, mu_product=mu_product, weight_decay=0.01)
            tnp.nadam_step_mp(p, g, m, v, step=step, mu_product=mu_product, weight_decay=0.01)
            for got, want in ((p, pf), (m, mf), (v, vf)):
                np.testing.assert_array_equal(got, tnp.convert(want, "bfloat16"))

    def test_mixed_sfadamw_is_the_fp32_step_rounded(self):
        """ScheduleFreeAdamW.step_mp: step() on the widened bf16 arrays, rounded to nearest."""
        r = rng(5)
        n = 777
        opt = tnp.ScheduleFreeAdamW(lr=1e-2, weight_decay=0.01, warmup_steps=2)
        p = tnp.convert(r.standard_normal(n).astype(np.float32), "bfloat16")
        z, v = p.copy(), np.zeros(n, np.uint16)
        for _ in range(4):
            opt.advance()
            g = tnp.convert(r.standard_normal(n).astype(np.float32), "bfloat16")
            pf, gf, zf, vf = (self.widen(a) for a in (p, g, z, v))
            opt.step(pf, gf, zf, vf)
            opt.step_mp(p, g, z, v)
            for got, want in ((p, pf), (z, zf), (v, vf)):
                np.testing.assert_array_equal(got, tnp.convert(want, "bfloat16"))

    def test_mixed_kahan_and_copy(self):
        """fp16 parameters with a Kahan compensation: p + c follows the fp32 trajectory far closer than
        nearest rounding alone; the bf16 copy of fp32 masters is their nearest rounding."""
        n, lr = 512, 1e-4
        g = np.full(n, 1.0, np.float32)
        start = np.full(n, 1.0, np.float16)
        plain, kahan, comp = start.copy(), start.copy(), np.zeros(n, np.float16)
        for step in range(1, 101):
            tnp.sgd_step_mp(plain, g, None, step=step, lr=lr)
            tnp.sgd_step_mp(kahan, g, None, step=step, lr=lr, param_mode="kahan", param_aux=comp)
        exact = 1.0 - 100 * lr
        self.assertEqual(float(plain[0]), 1.0)  # each update is below half an fp16 ulp of 1.0
        self.assertAlmostEqual(float(kahan[0]) + float(comp[0]), exact, delta=1e-5)  # plain: off by 1e-2
        master, copy = np.ones(n, np.float32), np.zeros(n, np.uint16)
        tnp.sgd_step_mp(master, g, None, step=1, lr=lr, copy=copy)
        np.testing.assert_array_equal(copy, tnp.convert(master, "bfloat16"))

    def test_mixed_lamb_lars_are_the_fp32_steps_rounded(self):
        """LAMB and LARS on lists of bf16 tensors: the fp32 _ex step on the widened lists (its norms and
        trust ratios included), then nearest rounding; stochastic rounding of a list split in two calls
        equals the one call when the second offset is advanced by the first call's elements."""
        if not hasattr(tnp, "lamb_step_mp"):
            self.skipTest("trainopt_lamb_step_mp is not in this libtrainopt")
        r = rng(6)
        lens = (301, 77)
        ps = [tnp.convert(r.standard_normal(n).astype(np.float32), "bfloat16") for n in lens]
        ms, vs = [np.zeros(n, np.uint16) for n in lens], [np.zeros(n, np.uint16) for n in lens]
        for step in range(1, 4):
            gs = [tnp.convert(r.standard_normal(n).astype(np.float32), "bfloat16") for n in lens]
            pf, gf, mf, vf = ([self.widen(a) for a in arrays] for arrays in (ps, gs, ms, vs))
            tnp.lamb_step_ex(pf, gf, mf, vf, step=step, lr=1e-2, weight_decay=0.01)
            self.assertEqual(tnp.lamb_step_mp(ps, gs, ms, vs, step=step, lr=1e-2, weight_decay=0.01), 0)
            for got, want in ((ps, pf), (ms, mf), (vs, vf)):
                for a, b in zip(got, want):
                    np.testing.assert_array_equal(a, tnp.convert(b, "bfloat16"))
        gs = [tnp.convert(r.standard_normal(n).astype(np.float32), "bfloat16") for n in lens]
        whole, split = [p.copy() for p in ps], [p.copy() for p in ps]
        tnp.lars_step_mp(whole, gs, None, lr=0.1, momentum=0.0, param_mode="stochastic", seed=9, offset=5)
        tnp.lars_step_mp(split[:1], gs[:1], None, lr=0.1, momentum=0.0, param_mode="stochastic", seed=9, offset=5)
        tnp.lars_step_mp(split[1:], gs[1:], None, lr=0.1, momentum=0.0, param_mode="stochastic", seed=9,
                         offset=5 + lens[0])
        for a, b in zip(whole, split):
            np.testing.assert_array_equal(a, b)
        self.assertFalse(all(np.array_equal(a, b) for a, b in zip(whole, ps)))
        with self.assertRaises(TypeError):
            tnp.lamb_step_mp(ps, gs, ms, [v.view(np.float16) for v in vs], step=1, lr=1e-2)  # state dtypes differ

    def test_mixed_errors_write_nothing(self):
        n = 64
        p, g = tnp.convert(np.ones(n, np.float32), "bfloat16"), np.ones(n, np.float32)
        m, v = np.zeros(n, np.uint16), np.zeros(n, np.uint16)
        before = [a.copy() for a in (p, m, v)]
        with self.assertRaises(TrainoptError) as e:
            tnp.adamw_step_mp(p, g, m, v, None, step=1, lr=-1.0)
        self.assertIn("lr", str(e.exception))
        with self.assertRaises(TrainoptError):
            tnp.adamw_step_mp(p, g, m, v, None, step=1, param_mode="split")  # split needs param_aux
        with self.assertRaises(TypeError):
            tnp.adamw_step_mp(p, g, m, v.astype(np.float32), None, step=1)  # mixed state dtypes
        with self.assertRaises(ValueError):
            tnp.adamw_step_mp(p, g[:10], m, v, None, step=1)
        for a, b in zip((p, m, v), before):
            np.testing.assert_array_equal(a, b)

    def test_8bit_step_is_dequantize_step_quantize(self):
        """The 8-bit AdamW step: dequantize the states, the fp32 step, quantize them again (the manual's
        QUANT8 contract), bit for bit over 3 steps; a round trip is within 5% of the block's absmax."""
        r = rng(4)
        n, block = 5000, 256
        p = r.standard_normal(n).astype(np.float32)
        m, m_max = tnp.states8bit(n, block)
        v, v_max = tnp.states8bit(n, block)
        self.assertEqual(m_max.shape, (20,))
        for step in range(1, 4):
            g = r.standard_normal(n).astype(np.float32)
            pf = p.copy()
            mf = tnp.dequantize_blockwise(m, m_max, signed=True)
            vf = tnp.dequantize_blockwise(v, v_max, signed=False)
            tnp.adamw_step(pf, g, mf, vf, None, step=step, lr=0.01)
            tnp.adamw8bit_step(p, g, m, m_max, v, v_max, step=step, lr=0.01)
            np.testing.assert_array_equal(p, pf)
            for codes, absmax, want, signed in ((m, m_max, mf, True), (v, v_max, vf, False)):
                c, a = tnp.quantize_blockwise(want, signed=signed)
                np.testing.assert_array_equal(codes, c)
                np.testing.assert_array_equal(absmax, a)
        c, a = tnp.quantize_blockwise(g)
        d = tnp.dequantize_blockwise(c, a)
        self.assertLess(float(np.abs(d - g).max()), 0.05 * float(a.max()))
        with self.assertRaises(TrainoptError):
            tnp.quantize_blockwise(g, block=100)  # not a power of two
        with self.assertRaises(ValueError):
            tnp.adamw8bit_step(p, g, m, m_max[:3], v, v_max, step=4)

    def test_8bit_step_mp_is_8bit_step_on_widened_bf16(self):
        """adamw8bit_step_mp on bf16 (uint16) param and grad: the fp32-param 8-bit step on the widened
        arrays, then the parameters rounded to nearest even, bit for bit over 3 steps (the manual's
        QUANT8); Kahan without its compensation array is refused."""
        def bf16(x):  # round to nearest even (finite x), as uint16 bits
            u = x.view(np.uint32).astype(np.uint64)
            return ((u + 0x7fff + ((u >> 16) & 1)) >> 16).astype(np.uint16)

        def widen(h):
            return (h.astype(np.uint32) << 16).view(np.float32)
        r = rng(5)
        n = 1000
        p16 = bf16(r.uniform(-1, 1, n).astype(np.float32))
        q = widen(p16).copy()
        states, ref_states = tnp.states8bit(n) + tnp.states8bit(n), tnp.states8bit(n) + tnp.states8bit(n)
        for step in range(1, 4):
            g16 = bf16(r.uniform(-1, 1, n).astype(np.float32))
            self.assertEqual(tnp.adamw8bit_step_mp(p16, g16, *states, step=step, lr=1e-2, grad_scale=1.0), 0)
            tnp.adamw8bit_step(q, widen(g16), *ref_states, step=step, lr=1e-2)
            q = widen(bf16(q)).copy()
            np.testing.assert_array_equal(p16, bf16(q))
            for got, want in zip(states, ref_states):
                np.testing.assert_array_equal(got, want)
        with self.assertRaises(TrainoptError):
            tnp.adamw8bit_step_mp(p16, g16, *states, step=4, param_mode="kahan")
