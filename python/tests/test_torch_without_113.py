"""The trainopt.torch optimizers PyTorch 1.13 has no class for (Lion, LAMB, LARS, Adafactor,
AdamWScheduleFree): against the committed golden trajectories of the C tests (float64 references:
tests/golden/optim.bin from tests/gen_optim.py for Lion, tests/golden/layerwise.bin from
tests/gen_layerwise.py for the others; within 1e-5 of each array's largest magnitude after 40
steps, the C tests' bound), against trainopt.np on the same library (the same bits), and
state_dict round trips through torch.save (a resumed run gives the bits of an uninterrupted one)."""
import io
import os
import struct
import unittest

import numpy as np

try:
    import torch
    import trainopt.torch as tt
    import trainopt.np as tnp
    from trainopt import TrainoptError
    SKIP = None if hasattr(tt, "Adafactor") and hasattr(tt, "AdamWScheduleFree") else \
        "trainopt_adafactor_step or trainopt_sfadamw_step is not in this libtrainopt"
except ImportError as e:
    SKIP = "PyTorch is not importable (%s); Debian: python3-torch" % e

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden")
GOLDEN = os.path.join(GOLDEN_DIR, "layerwise.bin")
TOL = 1e-5


def read_golden(kind):
    """The cases of KIND (2 schedule-free AdamW, 3 Adafactor) of layerwise.bin (its format:
    tests/gen_layerwise.py's docstring): name, hp, flags, lens, param0, grads[steps], after[steps]
    (a list of arrays: the parameters, then the states)."""
    with open(GOLDEN, "rb") as f:
        blob = f.read()
    assert blob[:8] == b"TOLWGLD1"
    (count,), at = struct.unpack_from("<I", blob, 8), 12
    out = []

    def floats(n):
        nonlocal at
        a = np.frombuffer(blob, np.float32, n, at).copy()
        at += 4 * n
        return a

    for _ in range(count):
        name = blob[at:at + 48].rstrip(b"\0").decode()
        at += 48
        (k,) = struct.unpack_from("<I", blob, at)
        hp = struct.unpack_from("<8d", blob, at + 4)
        flags = struct.unpack_from("<2i", blob, at + 68)
        (nt,) = struct.unpack_from("<I", blob, at + 76)
        lens = struct.unpack_from("<%dI" % nt, blob, at + 80)
        steps, nstates = struct.unpack_from("<II", blob, at + 80 + 4 * nt)
        at += 88 + 4 * nt
        total = sum(lens)
        if k == 3:
            rows = flags[1]
            sizes = [total, rows, lens[0] // rows, lens[1]]
        else:
            sizes = [total] * (1 + nstates)
        param0 = floats(total)
        grads = [floats(total) for _ in range(steps)]
        after = [[floats(n) for n in sizes] for _ in range(steps)]
        if k == kind:
            out.append((name, hp, flags, lens, param0, grads, after))
    return out


def read_optim_golden(kind):
    """The cases of KIND (9 Lion) of optim.bin (tests/gen_optim.py's docstring): name, hp, flags,
    param0, grads[steps], after[steps] (the parameter, then the states)."""
    with open(os.path.join(GOLDEN_DIR, "optim.bin"), "rb") as f:
        blob = f.read()
    assert blob[:8] == b"TOPTGLD2"
    (count,), at = struct.unpack_from("<I", blob, 8), 12
    out = []
    head = struct.Struct("<48sII8d3i3I")
    for _ in range(count):
        fields = head.unpack_from(blob, at)
        at += head.size
        name, k, hp, flags, (n, steps, nstates) = fields[0], fields[1], fields[3:11], fields[11:14], fields[14:17]
        arrays = np.frombuffer(blob, np.float32, n * (1 + steps + steps * (1 + nstates)), at).reshape(-1, n)
        at += 4 * arrays.size
        if k == kind:
            out.append((name.rstrip(b"\0").decode(), hp, flags, arrays[0].copy(), arrays[1:1 + steps],
                        arrays[1 + steps:].reshape(steps, 1 + nstates, n)))
    return out


def split(flat, lens):
    return np.split(flat, np.cumsum(lens)[:-1])


def assert_near(test, want, got, what):
    """GOT within TOL of WANT's largest finite magnitude; NaN and Inf exactly where WANT has them (a
    NaN or Inf gradient propagates, as in the golden data's Lion case)."""
    got = np.asarray(got)
    odd = ~np.isfinite(want)
    test.assertTrue(np.array_equal(odd, ~np.isfinite(got)) and np.array_equal(want[odd], got[odd], equal_nan=True),
                    "%s: NaN or Inf at other places" % what)
    want, got = want[~odd], got[~odd]
    if not want.size:
        return
    scale = max(float(np.abs(want).max()), 1e-30)
    diff = float(np.abs(want.astype(np.float64) - got).max())
    test.assertLessEqual(diff, TOL * scale, "%s: max diff %g, %g of the largest magnitude" % (what, diff, diff / scale))


def adafactor_args(hp, flags):
    lr, beta2_decay, eps1, eps2, d, wd = hp[:6]
    return dict(lr=lr, beta2_decay=beta2_decay, eps=(eps1, eps2), d=d, weight_decay=wd, maximize=bool(flags[0]))


def sfadamw_args(hp, flags):
    lr, beta1, beta2, eps, wd, r, power = hp[:7]
    return dict(lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=wd, r=r, weight_lr_power=power,
                warmup_steps=flags[0])


def save_load(opt, cls, params, **kw):
    """OPT's state_dict through torch.save into a new CLS over PARAMS."""
    buf = io.BytesIO()
    torch.save(opt.state_dict(), buf)
    buf.seek(0)
    other = cls(params, **kw)
    other.load_state_dict(torch.load(buf))
    return other


def round_trip(test, cls, shapes, kw, steps=20, seed=4):
    """STEPS steps in one optimizer and in one resumed halfway from a torch.save checkpoint: the same
    parameters and states, bit for bit."""
    g = torch.Generator().manual_seed(seed)
    p0 = [torch.randn(s, generator=g) for s in shapes]
    grads = [[torch.randn(p.shape, generator=g) for p in p0] for _ in range(steps)]
    whole, parts = [p.clone() for p in p0], [p.clone() for p in p0]
    a, b = cls(whole, **kw), cls(parts, **kw)
    for step, gs in enumerate(grads):
        if step == steps // 2:
            b = save_load(b, cls, parts, **kw)
        for p, q, gr in zip(whole, parts, gs):
            p.grad, q.grad = gr.clone(), gr.clone()
        a.step()
        b.step()
    for p, q in zip(whole, parts):
        test.assertTrue(torch.equal(p, q), cls.__name__)
    sa, sb = a.state_dict(), b.state_dict()
    test.assertEqual(sa["param_groups"], sb["param_groups"])
    test.assertEqual(sorted(sa["state"]), sorted(sb["state"]))
    for k in sa["state"]:
        test.assertEqual(sorted(sa["state"][k]), sorted(sb["state"][k]))
        for name, va in sa["state"][k].items():
            test.assertTrue(torch.equal(va, sb["state"][k][name]) if isinstance(va, torch.Tensor)
                            else va == sb["state"][k][name], "%s state %s" % (cls.__name__, name))


@unittest.skipIf(SKIP, SKIP)
class LionLambLarsTest(unittest.TestCase):
    def test_lion_golden(self):
        cases = read_optim_golden(9)
        self.assertEqual(len(cases), 3)
        for name, hp, flags, param0, grads, after in cases:
            with self.subTest(case=name):
                p = torch.from_numpy(param0.copy())
                opt = tt.Lion([p], lr=hp[0], beta1=hp[1], beta2=hp[2], weight_decay=hp[3], maximize=flags[0])
                for t, g in enumerate(grads):
                    p.grad = torch.from_numpy(g.copy())
                    opt.step()
                    assert_near(self, after[t][0], p.numpy(), "%s step %d param" % (name, t + 1))
                    assert_near(self, after[t][1], opt.state[p]["exp_avg"].numpy(), "%s step %d exp_avg" % (name, t + 1))

    def test_lamb_lars_golden(self):
        """Three tensors (67, 259 and 5 elements) in one group: one list call per step."""
        for kind, cls in ((0, tt.LAMB), (1, tt.LARS)):
            cases = read_golden(kind)
            self.assertEqual(len(cases), 3)
            for name, hp, flags, lens, param0, grads, after in cases:
                with self.subTest(case=name):
                    if kind == 0:
                        kw = dict(lr=hp[0], beta1=hp[1], beta2=hp[2], eps=hp[3], eps_root=hp[4], weight_decay=hp[5])
                        states = ("exp_avg", "exp_avg_sq")
                    else:
                        kw = dict(lr=hp[0], weight_decay=hp[1], trust_coefficient=hp[2], eps=hp[3], momentum=hp[4],
                                  nesterov=flags[0])
                        states = ("momentum_buffer",) if hp[4] != 0 else ()
                    ps = [torch.from_numpy(a.copy()) for a in split(param0, lens)]
                    opt = cls(ps, **kw)
                    for t, g in enumerate(grads):
                        for p, gp in zip(ps, split(g, lens)):
                            p.grad = torch.from_numpy(gp.copy())
                        opt.step()
                        got = [np.concatenate([p.numpy() for p in ps])]
                        got += [np.concatenate([opt.state[p][s].numpy() for p in ps]) for s in states]
                        self.assertEqual(len(after[t]), len(got))
                        for i, (want, have) in enumerate(zip(after[t], got)):
                            assert_near(self, want, have, "%s step %d array %d" % (name, t + 1, i))

    def test_state_dict_round_trips(self):
        for cls, kw in ((tt.Lion, dict(lr=1e-3, weight_decay=0.1)), (tt.LAMB, dict(lr=1e-2)),
                        (tt.LARS, dict(lr=0.1, nesterov=1)), (tt.LARS, dict(lr=0.1, momentum=0.0))):
            with self.subTest(cls=cls.__name__, kw=kw):
                round_trip(self, cls, [(30,), (4, 9)], kw)


@unittest.skipIf(SKIP, SKIP)
class FusedStep(unittest.TestCase):
    def test_grad_scale_and_found_inf(self):
        """step(grad_scale=0.5) is the step on gradients halved (exact in float: the same bits);
        step(found_inf=True) changes nothing, the step counters and schedule-free's scalars included."""
        for cls, kw in ((tt.Adafactor, dict(lr=3e-2)), (tt.AdamWScheduleFree, dict(lr=1e-2, weight_decay=0.1))):
            with self.subTest(cls=cls.__name__):
                g = torch.Generator().manual_seed(13)
                ps = [torch.randn(6, 11, generator=g), torch.randn(17, generator=g)]
                qs = [p.clone() for p in ps]
                a, b = cls(ps, **kw), cls(qs, **kw)
                if cls is tt.AdamWScheduleFree:
                    a.train()
                    b.train()
                for step in range(6):
                    for p, q in zip(ps, qs):
                        p.grad = torch.randn(p.shape, generator=g)
                        q.grad = p.grad * 0.5
                    if step == 3:
                        before = ([p.clone() for p in ps], copy_state(a))
                        a.step(found_inf=True)
                        self.assertTrue(all(torch.equal(p, x) for p, x in zip(ps, before[0])))
                        self.assertEqual(copy_state(a), before[1])
                    a.step(grad_scale=0.5)
                    b.step()
                for p, q in zip(ps, qs):
                    self.assertTrue(torch.equal(p, q), cls.__name__)
                # the states too: Adafactor's update does not change when every gradient is halved
                # (its variance estimate is quartered), its row_var and col_var do
                self.assertEqual(copy_state(a), copy_state(b))


def copy_state(opt):
    """A comparable copy of OPT's state_dict: tensors as lists."""
    sd = opt.state_dict()
    tolist = lambda v: v.tolist() if isinstance(v, torch.Tensor) else v
    return ({k: {n: tolist(v) for n, v in e.items()} for k, e in sd["state"].items()},
            [{k: v for k, v in grp.items() if k != "params"} for grp in sd["param_groups"]])


@unittest.skipIf(SKIP, SKIP)
class AdafactorTest(unittest.TestCase):
    def _params(self, rows, lens, flat):
        first, second = split(flat, lens)
        return [torch.from_numpy(first.reshape(rows, -1).copy()), torch.from_numpy(second.copy())]

    def test_golden(self):
        """A [rows][cols] parameter (factored) and a vector: 40 steps within 1e-5 of the float64 reference."""
        cases = read_golden(3)
        self.assertEqual(len(cases), 3)
        for name, hp, flags, lens, param0, grads, after in cases:
            with self.subTest(case=name):
                rows = flags[1]
                ps = self._params(rows, lens, param0)
                opt = tt.Adafactor(ps, **adafactor_args(hp, flags))
                for t, g in enumerate(grads):
                    for p, gp in zip(ps, self._params(rows, lens, g)):
                        p.grad = gp
                    opt.step()
                    want_p, want_row, want_col, want_var = after[t]
                    got = np.concatenate([p.numpy().reshape(-1) for p in ps])
                    assert_near(self, want_p, got, "%s step %d param" % (name, t + 1))
                    assert_near(self, want_row, opt.state[ps[0]]["row_var"].numpy().reshape(-1), "%s row_var" % name)
                    assert_near(self, want_col, opt.state[ps[0]]["col_var"].numpy().reshape(-1), "%s col_var" % name)
                    assert_near(self, want_var, opt.state[ps[1]]["variance"].numpy(), "%s variance" % name)
                self.assertEqual(float(opt.state[ps[0]]["step"]), len(grads))

    def test_same_bits_as_numpy(self):
        g = torch.Generator().manual_seed(5)
        ps = [torch.randn(9, 300, generator=g), torch.randn(41, generator=g), torch.randn((), generator=g)]
        qs = [p.numpy().copy() for p in ps]
        states = [(np.zeros(9, np.float32), np.zeros(300, np.float32), None), (None, None, np.zeros(41, np.float32)),
                  (None, None, np.zeros(1, np.float32))]
        kw = dict(lr=3e-2, weight_decay=0.1, d=1.5)
        opt = tt.Adafactor(ps, **kw)
        for step in range(1, 8):
            for p in ps:
                p.grad = torch.randn(p.shape, generator=g)
            opt.step()
            for p, q, (rv, cv, var) in zip(ps, qs, states):
                tnp.adafactor_step(q.reshape(-1), p.grad.numpy().reshape(-1), rv, cv, var, step=step,
                                   shape=q.shape if q.ndim == 2 else (1, q.size), **kw)
        for p, q in zip(ps, qs):
            self.assertTrue(np.array_equal(p.numpy(), q))
        self.assertTrue(np.array_equal(opt.state[ps[0]]["row_var"].numpy().reshape(-1), states[0][0]))
        self.assertTrue(np.array_equal(opt.state[ps[0]]["col_var"].numpy().reshape(-1), states[0][1]))
        self.assertTrue(np.array_equal(opt.state[ps[1]]["variance"].numpy(), states[1][2]))

    def test_state_dict_round_trip(self):
        """10 steps, a checkpoint through torch.save into a new optimizer, 10 more: the bits of 20 in one."""
        round_trip(self, tt.Adafactor, [(7, 33), (20,)], dict(lr=5e-2, eps=(1e-6, 1e-2), weight_decay=1e-2), seed=6)

    def test_torch_2_5_arguments(self):
        opt = tt.Adafactor([torch.ones(2)])
        self.assertEqual({k: v for k, v in opt.defaults.items()},
                         dict(lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, foreach=None,
                              maximize=False))
        with self.assertRaisesRegex(ValueError, "beta2_decay"):
            tt.Adafactor([torch.ones(2)], beta2_decay=0.5)
        with self.assertRaisesRegex(ValueError, "Clipping threshold"):
            tt.Adafactor([torch.ones(2)], d=0.5)

    def test_refusals_write_nothing(self):
        """A parameter of 3 dimensions, or a group whose hyperparameter the kernel refuses: raises naming
        it, and no parameter, state or step counter has changed."""
        ps = [torch.randn(4, 5), torch.randn(2, 3, 4)]
        opt = tt.Adafactor(ps)
        for p in ps:
            p.grad = torch.ones(p.shape)
        before = [p.clone() for p in ps]
        with self.assertRaisesRegex(ValueError, r"param_groups\[0\]\['params'\]\[1\] has 3 dimensions"):
            opt.step()
        ps[1].grad = None
        opt.param_groups[0]["eps"] = (float("nan"), 1e-3)
        with self.assertRaisesRegex(TrainoptError, "eps1"):
            opt.step()
        for p, q in zip(ps, before):
            self.assertTrue(torch.equal(p, q))
        self.assertEqual(len(opt.state), 0)


@unittest.skipIf(SKIP, SKIP)
class ScheduleFreeTest(unittest.TestCase):
    def test_golden(self):
        """Three tensors, 40 steps: y (the parameters in train mode), z, exp_avg_sq and x (after eval())
        within 1e-5 of the float64 reference; train() returns to y."""
        cases = read_golden(2)
        self.assertEqual(len(cases), 3)
        for name, hp, flags, lens, param0, grads, after in cases:
            with self.subTest(case=name):
                ps = [torch.from_numpy(a.copy()) for a in split(param0, lens)]
                opt = tt.AdamWScheduleFree(ps, **sfadamw_args(hp, flags))
                opt.train()
                for t, g in enumerate(grads):
                    for p, gp in zip(ps, split(g, lens)):
                        p.grad = torch.from_numpy(gp.copy())
                    opt.step()
                    want_y, want_z, want_v, want_x = after[t]
                    flat = lambda ts: np.concatenate([x.numpy() for x in ts])
                    assert_near(self, want_y, flat(ps), "%s step %d y" % (name, t + 1))
                    assert_near(self, want_z, flat(opt.state[p]["z"] for p in ps), "%s step %d z" % (name, t + 1))
                    assert_near(self, want_v, flat(opt.state[p]["exp_avg_sq"] for p in ps), "%s v" % name)
                    if t % 13 == 12 or t == len(grads) - 1:
                        opt.eval()
                        assert_near(self, want_x, flat(ps), "%s step %d x" % (name, t + 1))
                        opt.train()
                self.assertEqual(opt.param_groups[0]["k"], len(grads))

    def test_same_bits_as_numpy(self):
        g = torch.Generator().manual_seed(8)
        ps = [torch.randn(300, generator=g), torch.randn(3, 7, generator=g)]
        qs = [p.numpy().copy().reshape(-1) for p in ps]
        kw = dict(lr=1e-2, weight_decay=0.05, warmup_steps=3, r=0.5)
        ref = tnp.ScheduleFreeAdamW(lr=1e-2, beta1=0.9, beta2=0.999, weight_decay=0.05, warmup_steps=3, r=0.5)
        zs, vs = [q.copy() for q in qs], [np.zeros_like(q) for q in qs]
        opt = tt.AdamWScheduleFree(ps, **kw)
        opt.train()
        for _ in range(9):
            for p in ps:
                p.grad = torch.randn(p.shape, generator=g)
            opt.step()
            ref.advance()
            for p, q, z, v in zip(ps, qs, zs, vs):
                ref.step(q, p.grad.numpy().reshape(-1), z, v)
        opt.eval()
        for p, q, z, v in zip(ps, qs, zs, vs):
            ref.to_eval(q, z, q)
            self.assertTrue(np.array_equal(p.numpy().reshape(-1), q))
            self.assertTrue(np.array_equal(opt.state[p]["z"].numpy().reshape(-1), z))
            self.assertTrue(np.array_equal(opt.state[p]["exp_avg_sq"].numpy().reshape(-1), v))
        self.assertEqual(opt.param_groups[0]["lr_max"], ref.state.lr_max)
        self.assertEqual(opt.param_groups[0]["weight_sum"], ref.state.weight_sum)

    def test_state_dict_round_trip(self):
        """A checkpoint saved in eval mode (as schedulefree asks) and loaded into a new optimizer over
        the saved parameters continues with the bits of an uninterrupted run."""
        g = torch.Generator().manual_seed(9)
        p0 = [torch.randn(50, generator=g), torch.randn(4, 6, generator=g)]
        grads = [[torch.randn(p.shape, generator=g) for p in p0] for _ in range(20)]
        kw = dict(lr=5e-3, weight_decay=1e-2, warmup_steps=4)
        whole, parts = [p.clone() for p in p0], [p.clone() for p in p0]
        a, b = tt.AdamWScheduleFree(whole, **kw), tt.AdamWScheduleFree(parts, **kw)
        a.train()
        b.train()
        for step, gs in enumerate(grads):
            if step == 10:
                b.eval()
                saved = [p.clone() for p in parts]  # the checkpoint's parameters: x
                parts = saved
                b = save_load(b, tt.AdamWScheduleFree, parts, **kw)
                self.assertFalse(b.param_groups[0]["train_mode"])
                with self.assertRaisesRegex(RuntimeError, "eval mode"):
                    b.step()
                b.train()
            for p, q, gr in zip(whole, parts, gs):
                p.grad, q.grad = gr.clone(), gr.clone()
            a.step()
            b.step()
        a.eval()
        b.eval()
        for p, q in zip(whole, parts):
            self.assertTrue(torch.allclose(p, q, rtol=0, atol=1e-6 * p.abs().max().item()))
        self.assertEqual(a.param_groups[0]["k"], b.param_groups[0]["k"])
        self.assertEqual(a.param_groups[0]["weight_sum"], b.param_groups[0]["weight_sum"])

    def test_reference_group_entries(self):
        opt = tt.AdamWScheduleFree([torch.ones(2)])
        group = opt.param_groups[0]
        for key, value in dict(lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, warmup_steps=0, r=0.0,
                               weight_lr_power=2.0, k=0, train_mode=False, weight_sum=0.0, lr_max=-1.0,
                               scheduled_lr=0.0).items():
            self.assertEqual(group[key], value, key)
        with self.assertRaisesRegex(RuntimeError, r"call \.train\(\)"):
            opt.step()

    def test_refusal_writes_nothing(self):
        ps = [torch.randn(5), torch.randn(2, 3)]
        opt = tt.AdamWScheduleFree(ps, lr=0.1)
        opt.train()
        ps[0].grad, ps[1].grad = torch.ones(5), torch.ones(3, 2).t()
        before = [p.clone() for p in ps]
        with self.assertRaisesRegex(ValueError, r"param_groups\[0\]\['params'\]\[1\]: its grad is not contiguous"):
            opt.step()
        for p, q in zip(ps, before):
            self.assertTrue(torch.equal(p, q))
        self.assertEqual((len(opt.state), opt.param_groups[0]["k"]), (0, 0))


if __name__ == "__main__":
    unittest.main()
