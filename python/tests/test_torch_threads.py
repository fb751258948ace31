"""trainopt.torch on threads: every drop-in whose step is one trainopt_<opt>_step_multi call per group,
run on a trainopt_pool of 2 and 3 threads (threads=N) and with threads=1, gives the bits of the
unthreaded call (threads=1 passes no hook: everything on the calling thread), with tensors that
span several of the library's 16384-element pieces and lengths that do not divide into them; the
default follows torch.get_num_threads(); the pool is not part of state_dict() and survives a
deepcopy; a bad threads= is refused."""
import copy
import unittest

try:
    import torch
    import trainopt.torch as tt
    from trainopt import _lib
    SKIP = None if _lib.HAS_POOL else "libtrainopt has no trainopt_pool (rebuild it: make lib)"
except ImportError as e:
    SKIP = "PyTorch is not importable (%s); Debian: python3-torch" % e

# the drop-ins with a multi-tensor step, with arguments that use every state they have
CASES = [("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-2)),
         ("Adagrad", dict(lr=0.05, lr_decay=1e-3)), ("RMSprop", dict(lr=1e-2, momentum=0.5, centered=True)),
         ("Adam", dict(lr=1e-2, amsgrad=True)), ("AdamW", dict(lr=1e-2, weight_decay=0.05)),
         ("RAdam", dict(lr=1e-2, weight_decay=0.01)), ("Adamax", dict(lr=1e-2, weight_decay=0.01)),
         ("Adadelta", dict(lr=0.5, weight_decay=0.01)), ("Lion", dict(lr=1e-3, weight_decay=0.1)),
         # mu_product per parameter: one multi-tensor call per (step, mu_product), planned every step
         ("NAdam", dict(lr=1e-2, weight_decay=0.01, momentum_decay=4e-3)),
         # its own step(): the group's scalars advance, then one call for the group
         ("AdamWScheduleFree", dict(lr=1e-2, weight_decay=0.01, warmup_steps=2)),
         # trainopt_adafactor_step_multi: a tensor per task (factored 2-D, unfactored 1-D)
         ("Adafactor", dict(lr=1e-2, weight_decay=0.01))]
SHAPES = ((5,), (300,), (7, 9), (40000,), (1, 70001), (16384,))
STEPS = 4


def multi_step_classes():
    """The names of trainopt.torch's classes whose step() makes the multi-tensor call."""
    names = []
    for name in tt.__all__:
        cls = getattr(tt, name)
        if not issubclass(cls, tt._TrainoptStep):
            continue
        probe = cls.__new__(cls)
        if cls._multi_function(probe, cls._spec.kernel) is not None:
            names.append(name)
    return names


@unittest.skipIf(SKIP, SKIP)
class Threads(unittest.TestCase):
    def run_steps(self, name, kw, threads, grad_scale=None, dtype=torch.float32, multi_tensor=True):
        g = torch.Generator().manual_seed(5)
        params = [torch.randn(s, generator=g).to(dtype) for s in SHAPES]
        grads = [[torch.randn(s, generator=g).to(dtype) for s in SHAPES] for _ in range(STEPS)]
        # two groups: the second with its own lr, so each group's call runs on the pool
        opt = getattr(tt, name)([{"params": params[:3]}, {"params": params[3:], "lr": kw["lr"] * 0.5}],
                                threads=threads, **kw)
        opt.multi_tensor = multi_tensor
        if hasattr(opt, "train"):
            opt.train()  # schedule-free: steps in train mode
        for step in range(STEPS):
            for p, gr in zip(params, grads[step]):
                p.grad = gr.clone()
            opt.step(grad_scale=grad_scale)
        return params, opt

    def assert_same_states(self, opt, ref, what):
        """Every tensor of ref's state equals opt's, bit for bit."""
        sa, sb = opt.state_dict()["state"], ref.state_dict()["state"]
        for k in sb:
            for key, v in sb[k].items():
                if isinstance(v, torch.Tensor):
                    self.assertTrue(torch.equal(sa[k][key], v), "%s: state %d %s differs" % (what, k, key))

    def test_every_multi_step_class_has_a_case(self):
        self.assertEqual(sorted(multi_step_classes()), sorted(name for name, _ in CASES))

    def test_same_bits_at_1_2_3_threads(self):
        for name, kw in CASES:
            for grad_scale in (None, 0.5):
                want, ref = self.run_steps(name, kw, 1, grad_scale)
                self.assertNotIn("_pool", ref.__dict__, "threads=1 made a pool")
                for threads in (2, 3):
                    got, opt = self.run_steps(name, kw, threads, grad_scale)
                    self.assertEqual(opt._pool.threads, threads, (name, threads))
                    for i, (a, b) in enumerate(zip(got, want)):
                        self.assertTrue(torch.equal(a, b), "%s threads=%d grad_scale=%s: parameter %d differs"
                                        % (name, threads, grad_scale, i))
                    self.assert_same_states(opt, ref, "%s threads=%d" % (name, threads))

    def test_bfloat16_same_bits_at_1_2_3_threads(self):
        """bf16 groups step through trainopt_<opt>_step_mp_multi on the pool: the bits of one
        trainopt_<opt>_step_mp call per tensor (multi_tensor=False), states included."""
        for name, kw in CASES:
            if name in ("Adafactor", "AdamWScheduleFree"):
                continue  # their drop-ins step fp32 tensors only
            for grad_scale in (None, 0.5):
                want, ref = self.run_steps(name, kw, 1, grad_scale, torch.bfloat16, multi_tensor=False)
                for threads in (1, 2, 3):
                    got, opt = self.run_steps(name, kw, threads, grad_scale, torch.bfloat16)
                    for i, (a, b) in enumerate(zip(got, want)):
                        self.assertTrue(torch.equal(a.view(torch.int16), b.view(torch.int16)),
                                        "%s bf16 threads=%d grad_scale=%s: parameter %d differs"
                                        % (name, threads, grad_scale, i))
                    self.assert_same_states(opt, ref, "%s bf16 threads=%d" % (name, threads))

    def test_lists_same_bits_at_1_2_3_threads(self):
        """LAMB and LARS step a group in one trainopt_{lamb,lars}_step_mt call on the pool: the bits
        of the plain list call (multi_tensor=False), states included, with and without grad_scale."""
        for name, kw in (("LAMB", dict(lr=1e-2, weight_decay=0.01)), ("LARS", dict(lr=0.1, nesterov=1)),
                         ("LARS", dict(lr=0.1, momentum=0.0))):
            for grad_scale in (None, 0.5):
                want, ref = self.run_steps(name, kw, 1, grad_scale, multi_tensor=False)
                for threads in (1, 2, 3):
                    got, opt = self.run_steps(name, kw, threads, grad_scale)
                    if threads > 1:
                        self.assertEqual(opt._pool.threads, threads, (name, threads))
                    for i, (a, b) in enumerate(zip(got, want)):
                        self.assertTrue(torch.equal(a, b), "%s %s threads=%d grad_scale=%s: parameter %d differs"
                                        % (name, kw, threads, grad_scale, i))
                    self.assert_same_states(opt, ref, "%s threads=%d" % (name, threads))

    def test_default_follows_torch_get_num_threads(self):
        before = torch.get_num_threads()
        try:
            torch.set_num_threads(2)
            got, opt = self.run_steps("AdamW", dict(lr=1e-2), None)
            self.assertEqual(opt._pool.threads, 2)
            torch.set_num_threads(1)
            opt.step()
            self.assertEqual(opt._pool.threads, 2, "one thread: no hook, the pool is kept for later")
            torch.set_num_threads(3)
            opt.step()
            self.assertEqual(opt._pool.threads, 3, "the pool follows a new torch.set_num_threads")
        finally:
            torch.set_num_threads(before)
        want, _ = self.run_steps("AdamW", dict(lr=1e-2), 1)
        got2, _ = self.run_steps("AdamW", dict(lr=1e-2), 2)
        self.assertTrue(all(torch.equal(a, b) for a, b in zip(got2, want)))

    def test_state_dict_and_copies(self):
        params, opt = self.run_steps("AdamW", dict(lr=1e-2), 2)
        sd = opt.state_dict()
        self.assertNotIn("threads", sd["param_groups"][0])
        theirs = torch.optim.AdamW([{"params": [torch.zeros_like(p) for p in params[:3]]},
                                    {"params": [torch.zeros_like(p) for p in params[3:]]}])
        theirs.load_state_dict(sd)  # a checkpoint of a threaded optimizer moves to torch.optim
        self.assertTrue(torch.equal(theirs.state_dict()["state"][4]["exp_avg"], sd["state"][4]["exp_avg"]))
        twin = copy.deepcopy(opt)
        self.assertNotIn("_pool", twin.__dict__)
        for p in params:
            p.grad = torch.ones_like(p)
        twin.step()  # makes its own pool when it needs one
        self.assertIsNone(twin.threads)

    def test_bad_threads_refused(self):
        for bad in (0, -1, _lib.POOL_MAX + 1, 2.0, True, "2"):
            with self.assertRaises(ValueError, msg=repr(bad)):
                tt.AdamW([torch.zeros(3)], threads=bad)
        opt = tt.AdamW([torch.zeros(3)], threads=2)
        with self.assertRaises(ValueError):
            opt.threads = 0
        self.assertEqual(opt.threads, 2)


if __name__ == "__main__":
    unittest.main()
