"""trainopt.torch's one multi-tensor call per group (trainopt_<opt>_step_multi) against its
per-tensor path (multi_tensor = False): the same bits, through everything that must make it
plan again (a parameter's or a gradient's storage moved, gradients set to None, a parameter without
a gradient on some steps, load_state_dict, add_param_group, a group option that changes the states
used), and a refused step that changes nothing though other groups' lists are kept."""
import io
import unittest

try:
    import torch
    import trainopt.torch as tt
    from trainopt import TrainoptError
    SKIP = None
except ImportError as e:
    SKIP = "PyTorch is not importable (%s); Debian: python3-torch" % e

# the optimizers with a _step_multi in this library, and arguments that use every state
CASES = [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)), ("SGD", dict(lr=0.1)),
         ("Adagrad", dict(lr=0.05, lr_decay=1e-3)), ("RMSprop", dict(lr=1e-2, momentum=0.5, centered=True)),
         ("Adam", dict(lr=1e-2, amsgrad=True)), ("AdamW", dict(lr=1e-2, weight_decay=0.05))]


def per_tensor(name):
    return type(name, (getattr(tt, name),), {"multi_tensor": False})


def recording(name):
    """trainopt.torch.NAME that records, per step, which groups ran from their kept list (hits[gi])."""
    def _cached_plan(self, gi, *args):
        plan = getattr(tt, name)._cached_plan(self, gi, *args)
        self.hits[gi] = plan is not None
        return plan
    return type(name, (getattr(tt, name),), {"_cached_plan": _cached_plan, "hits": None})


def equal_states(test, a, b, what):
    sa, sb = a.state_dict(), b.state_dict()
    test.assertEqual(sa["param_groups"], sb["param_groups"], what)
    test.assertEqual(sorted(sa["state"]), sorted(sb["state"]), what)
    for k, entry in sa["state"].items():
        test.assertEqual(sorted(entry), sorted(sb["state"][k]), what)
        for name, va in entry.items():
            vb = sb["state"][k][name]
            test.assertEqual(type(va), type(vb), (what, name))
            if isinstance(va, torch.Tensor):
                test.assertTrue(torch.equal(va, vb) and va.dtype == vb.dtype and va.shape == vb.shape,
                                "%s state %d %s" % (what, k, name))
            else:
                test.assertEqual(va, vb, (what, name))


@unittest.skipIf(SKIP, SKIP)
class MultiTensor(unittest.TestCase):
    def setUp(self):
        self.g = torch.Generator().manual_seed(11)

    def pair(self, name, kw, shapes=((5,), (300,), (7, 9), (1,), (20000,))):
        ps = [torch.randn(s, generator=self.g) for s in shapes]
        qs = [p.clone() for p in ps]
        return ps, qs, getattr(tt, name)(ps, **kw), per_tensor(name)(qs, **kw)

    def grads(self, ps, qs, skip=()):
        for i, (p, q) in enumerate(zip(ps, qs)):
            if i in skip:
                p.grad = q.grad = None
                continue
            g = torch.randn(p.shape, generator=self.g)
            if p.grad is None:
                p.grad, q.grad = g.clone(), g.clone()
            else:  # in place, as zero_grad() then backward() leave it
                p.grad.copy_(g)
                q.grad.copy_(g)

    def same(self, ps, qs, a, b, what):
        for i, (p, q) in enumerate(zip(ps, qs)):
            self.assertTrue(torch.equal(p, q), "%s: param %d" % (what, i))
        equal_states(self, a, b, what)

    def test_kept_list_is_used_and_exact(self):
        for name, kw in CASES:
            with self.subTest(name=name, kw=kw):
                ps, qs, a, b = self.pair(name, kw)
                for _ in range(6):
                    self.grads(ps, qs)
                    a.step()
                    b.step()
                self.assertIn(0, a.__dict__.get("_multi_cache", {}), "no kept list after 6 steps")
                self.same(ps, qs, a, b, name)

    def test_changes_that_plan_again(self):
        """Each change makes group 0 plan again on that step (its kept list is not used), and only
        those: every other step runs from the kept list; the bits stay the per-tensor path's."""
        for name, kw in CASES:
            with self.subTest(name=name, kw=kw):
                ps, qs, _, b = self.pair(name, kw)
                a = recording(name)(ps, **kw)
                replans = {0, 3, 4, 6, 8, 10, 12} | ({16} if name in ("Adam", "AdamW") else set())
                for step in range(18):
                    # step 3: a parameter without a gradient; step 4: its gradient again, a new tensor,
                    # and its step count lags behind the others' (two kept lists from then on)
                    self.grads(ps, qs, (1,) if step == 3 else ())
                    if step == 6:  # a parameter's storage moves
                        ps[2].data = ps[2].data.clone()
                        qs[2].data = qs[2].data.clone()
                    if step == 8:  # new gradient tensors (zero_grad(set_to_none=True), then backward)
                        for p, q in zip(ps, qs):
                            p.grad, q.grad = p.grad.clone(), q.grad.clone()
                    if step == 10:  # a gradient's storage moves under the same tensor
                        ps[0].grad.data = ps[0].grad.data.clone()
                    if step == 12:  # a checkpoint through torch.save
                        for opt in (a, b):
                            buf = io.BytesIO()
                            torch.save(opt.state_dict(), buf)
                            buf.seek(0)
                            opt.load_state_dict(torch.load(buf))
                    if step == 14:  # a new group: group 0 keeps its list
                        extra = torch.randn(33, generator=self.g)
                        a.add_param_group(dict(params=[extra], lr=kw["lr"] / 2))
                        b.add_param_group(dict(params=[extra.clone()], lr=kw["lr"] / 2))
                        ps.append(extra)
                        qs.append(b.param_groups[1]["params"][0])
                        self.grads(ps, qs)
                    if step == 16 and name in ("Adam", "AdamW"):  # the states the group uses change
                        a.param_groups[0]["amsgrad"] = b.param_groups[0]["amsgrad"] = not kw.get("amsgrad", False)
                    a.hits = {}
                    a.step()
                    b.step()
                    self.same(ps, qs, a, b, "%s step %d" % (name, step))
                    self.assertEqual(a.hits[0], step not in replans, "%s step %d: kept list used" % (name, step))
                    if step >= 15:
                        self.assertTrue(a.hits[1], "%s step %d: group 1's kept list" % (name, step))

    def test_into_torch_and_back(self):
        """The step counters a kept list shares (views of one tensor) load into torch.optim, which
        steps them, and back."""
        g = torch.Generator().manual_seed(2)
        ps = [torch.randn(40, generator=g), torch.randn(3, 5, generator=g)]
        a = tt.AdamW(ps, lr=1e-2)
        for _ in range(4):
            for p in ps:
                p.grad = torch.randn(p.shape, generator=g)
            a.step()
        buf = io.BytesIO()
        torch.save(a.state_dict(), buf)
        buf.seek(0)
        t = torch.optim.AdamW(ps, lr=1e-2)
        t.load_state_dict(torch.load(buf))
        t.step()
        self.assertEqual([float(t.state[p]["step"]) for p in ps], [5.0, 5.0])
        a.load_state_dict(t.state_dict())
        a.step()
        a.step()
        self.assertEqual([float(a.state[p]["step"]) for p in ps], [7.0, 7.0])

    def test_refused_step_changes_nothing(self):
        """Group 0 runs from its kept list, group 1's lr is refused: no group changes."""
        ps = [torch.randn(10), torch.randn(10)]
        opt = tt.Adam([dict(params=[ps[0]]), dict(params=[ps[1]])], lr=1e-2)
        for _ in range(3):
            for p in ps:
                p.grad = torch.randn(10)
            opt.step()
        self.assertIn(0, opt._multi_cache)
        before = [p.clone() for p in ps]
        states = [{k: v.clone() for k, v in opt.state[p].items()} for p in ps]
        opt.param_groups[1]["lr"] = float("nan")
        with self.assertRaisesRegex(TrainoptError, "lr"):
            opt.step()
        for p, q, s in zip(ps, before, states):
            self.assertTrue(torch.equal(p, q))
            for k, v in s.items():
                self.assertTrue(torch.equal(opt.state[p][k], v), k)
        ps[1].grad = torch.ones(20)[::2]  # not contiguous
        opt.param_groups[1]["lr"] = 1e-2
        with self.assertRaisesRegex(ValueError, r"param_groups\[1\]\['params'\]\[0\]: its grad is not contiguous"):
            opt.step()
        self.assertTrue(torch.equal(ps[0], before[0]))


if __name__ == "__main__":
    unittest.main()
