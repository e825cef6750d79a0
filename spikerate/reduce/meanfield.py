"""Mean-field (diffusion) theory of LIF networks: population inputs and self-consistent rates.

The diffusion approximation (Amit & Brunel 1997; Brunel 2000) replaces the input of a neuron of
population ``a`` by Gaussian white noise whose mean and strength depend on the population
rates ``nu`` [Hz]::

    mu_a(nu)      = v_rest_a + I_a + sum_b sum_k K_abk J_abk nu_b tau_m_a + (external Poisson)
    sigma_a(nu)^2 = sum_b sum_k K_abk <J_abk^2> nu_b tau_m_a + (external Poisson) + sigma_noise_a^2

with ``K_abk`` the mean number of inputs a neuron of ``a`` receives from ``b`` through channel
``k`` and ``J_abk`` the *effective delta jump* of the membrane potential per spike:

* delta channel (``tau_s = 0``): ``J = w``, the jump of ``u`` itself;
* exponential current channel: ``J = w tau_s / tau_m``.  A current jump ``w`` gives a PSP of
  area ``w tau_s`` [mV s], the same as a delta jump ``w tau_s / tau_m`` (PSP-area equivalence),
  so the stationary mean of ``u`` gains ``w tau_s nu`` per input, and the diffusion strength is
  that of the equivalent delta input.

``<J^2>`` is the second moment of the weight distribution (mean^2 + variance), so distributed
weights add to the noise.  ``mu`` and ``sigma`` follow :func:`spikerate.models.siegert`'s
convention (Brunel 2000): ``tau_m du/dt = -(u - mu) + sigma sqrt(tau_m) xi``, the free membrane
potential has variance ``sigma^2/2``.

Filtered noise: the Fourcaud-Brunel (2002) correction raises threshold and reset by
``sigma alpha/2 sqrt(tau_s/tau_m)`` for noise filtered by one synaptic time constant.  A
population with several noise sources (channels with different ``tau_s``, white Noise, delta
channels) gets the shift of a *variance-weighted* effective time constant::

    shift_a = alpha/2 sum_c sigma_ac^2 sqrt(tau_c/tau_m_a) / sigma_a ,   sigma_a^2 = sum_c sigma_ac^2

which is exactly the Fourcaud-Brunel shift when all the variance comes through one channel,
vanishes when it is all white, and adds the first-order corrections of the sources (each is
linear in its own ``sqrt(tau_c/tau_m)``) otherwise.  Raising threshold and reset by ``s`` is
the same as lowering ``mu`` by ``s``, so the transfer is ``Phi_a(nu) = siegert(mu_a - s_a,
sigma_a)`` and its Jacobian follows by the chain rule.

Which function when
-------------------
* :func:`population_inputs`: the mapping only (in-degrees, weights, coupling matrices); its
  methods ``mu``, ``sigma``, ``transfer`` evaluate it for any rate vector.
* :func:`meanfield_rates`: the self-consistent stationary rates ``nu = Phi(nu)`` with the
  eigenvalues of the linearised rate dynamics ``tau_m dnu/dt = -nu + Phi(nu)``.

What it ignores: delays, correlations between inputs, the shot-noise (non-Gaussian) part of
large jumps, and temporal structure (a stable fixed point here does not rule out the
oscillatory instabilities of the spiking network, which need the linear response at nonzero
frequency and the delays: Brunel 2000, section 4).

References
----------
Amit & Brunel (1997) Cereb. Cortex 7, 237, doi:10.1093/cercor/7.3.237.
Brunel (2000) J. Comput. Neurosci. 8, 183, doi:10.1023/A:1008925309027.
Fourcaud & Brunel (2002) Neural Comput. 14, 2057, doi:10.1162/089976602320264015.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
import xarray as xr

from .._validation import check_int, check_positive, check_real_array, describe
from ..errors import ConvergenceError
from ..io.schema import make_meanfield_dataset
from ..models.noise import RateNoise
from ..models.transfer import siegert_derivatives
from ..sim.connectivity import AllToAll, FixedInDegree, FixedProbability, FromMatrix
from ..sim.distributions import LogNormal, Normal, Uniform, is_distribution
from ..sim.inputs import Current, Noise, PoissonInput, TimedCurrent
from ..sim.network import Network

__all__ = ["PopulationInputs", "meanfield_rates", "population_inputs"]

_NEURON = ("tau_m", "t_ref", "v_th", "v_reset", "v_rest")
#: rounds of relaxation when Newton stalls; round j integrates the rate dynamics for j * _RELAX_TIME tau_m
_RELAX_ROUNDS = 4
_RELAX_TIME = 10.0


@dataclass(frozen=True, kw_only=True, eq=False)
class PopulationInputs:
    """The diffusion mapping of a network: population rates ``nu`` [Hz] -> ``mu``, ``sigma`` [mV].

    Arrays are indexed by postsynaptic population ``a``, presynaptic population ``b`` and
    channel ``k`` in the network's order.  Build it with :func:`population_inputs`.
    """
    populations: tuple[str, ...]          #: population names
    channels: tuple[str, ...]             #: channel names
    tau_s: np.ndarray                     #: (n_channel,) synaptic time constants [s] (0: delta)
    tau_m: np.ndarray                     #: (n_pop,) membrane time constants [s]
    t_ref: np.ndarray                     #: (n_pop,) refractory periods [s]
    v_th: np.ndarray                      #: (n_pop,) thresholds [mV]
    v_reset: np.ndarray                   #: (n_pop,) resets [mV]
    v_rest: np.ndarray                    #: (n_pop,) resting potentials [mV]
    in_degree: np.ndarray                 #: (n_pop, n_pop, n_channel) mean in-degree K_abk
    weight: np.ndarray                    #: (n_pop, n_pop, n_channel) mean weight w (current jump) [mV]
    jump: np.ndarray                      #: (n_pop, n_pop, n_channel) mean effective delta jump J [mV]
    mu_coupling: np.ndarray               #: (n_pop, n_pop) d mu_a / d nu_b [mV s]
    var_coupling: np.ndarray              #: (n_pop, n_pop) d sigma_a^2 / d nu_b [mV^2 s]
    shift_coupling: np.ndarray            #: (n_pop, n_pop) same, weighted by sqrt(tau_s/tau_m) [mV^2 s]
    mu_ext: np.ndarray                    #: (n_pop,) v_rest + constant currents + external Poisson mean [mV]
    var_ext: np.ndarray                   #: (n_pop,) external variance: Poisson + white Noise [mV^2]
    shift_ext: np.ndarray                 #: (n_pop,) external variance weighted by sqrt(tau_s/tau_m) [mV^2]

    @property
    def n(self) -> int:
        return len(self.populations)

    def _rates(self, nu) -> np.ndarray:
        nu = check_real_array("nu", nu, unit="Hz")
        if nu.shape != (self.n,):
            raise ValueError(f"`nu` must have shape ({self.n},), one rate per population {list(self.populations)}; "
                             f"got shape {nu.shape}.")
        if np.any(nu < 0):
            raise ValueError(f"`nu` must be >= 0 Hz; got {nu.tolist()}.")
        return nu

    def mu(self, nu: npt.ArrayLike) -> np.ndarray:
        """Mean input ``mu_a(nu)`` [mV] of each population (``nu`` [Hz], shape (n_pop,))."""
        return self.mu_ext + self.mu_coupling @ self._rates(nu)

    def sigma(self, nu: npt.ArrayLike) -> np.ndarray:
        """Noise strength ``sigma_a(nu)`` [mV] (Brunel's convention, free variance sigma^2/2)."""
        return self.noise.evaluate(self._rates(nu))[0]

    def shift(self, nu: npt.ArrayLike) -> np.ndarray:
        """Fourcaud-Brunel shift of threshold and reset [mV] (variance-weighted over channels)."""
        return self._evaluate(self._rates(nu), jacobian=False)[3]

    def transfer(self, nu: npt.ArrayLike, *, jacobian: bool = False):
        """``Phi(nu)`` [Hz], the rates the populations fire at given input rates ``nu``; with
        ``jacobian=True`` also ``dPhi_a/dnu_b`` (shape (n_pop, n_pop), dimensionless)."""
        out = self._evaluate(self._rates(nu), jacobian=jacobian)
        return (out[0], out[4]) if jacobian else out[0]

    @cached_property
    def noise(self) -> RateNoise:
        """The rate dependence of ``sigma`` and of the Fourcaud-Brunel shift as a
        :class:`~spikerate.models.noise.RateNoise` (what ``reduce(..., noise="rates")`` uses)."""
        return RateNoise(var_coupling=self.var_coupling, var_ext=self.var_ext,
                         shift_coupling=self.shift_coupling, shift_ext=self.shift_ext)

    def _evaluate(self, nu, *, jacobian: bool):
        """(Phi, mu, sigma, shift, dPhi/dnu or None) for a valid rate vector."""
        mu = self.mu_ext + self.mu_coupling @ nu
        noise = self.noise.evaluate(nu, jacobian=jacobian)
        sigma, shift = noise[:2]
        rate, d_mu, d_sigma = siegert_derivatives(mu - shift, sigma, tau_m=self.tau_m, t_ref=self.t_ref,
                                                  v_th=self.v_th, v_reset=self.v_reset)
        rate, d_mu, d_sigma = (np.atleast_1d(np.asarray(x, float)) for x in (rate, d_mu, d_sigma))
        if not jacobian:
            return rate, mu, sigma, shift, None
        dsig, dshift = noise[2:]
        jac = d_mu[:, None] * (self.mu_coupling - dshift) + d_sigma[:, None] * dsig
        return rate, mu, sigma, shift, jac


def population_inputs(network: Network) -> PopulationInputs:
    """The diffusion mapping of ``network`` to its populations (see the module docstring).

    Parameters
    ----------
    network : Network
        Populations of LIF neurons with population-wide (scalar) parameters; projections with
        any rule; inputs :class:`~spikerate.sim.Current` (mean amplitude over the targets),
        :class:`~spikerate.sim.Noise` and :class:`~spikerate.sim.PoissonInput`.

    Returns
    -------
    PopulationInputs
        In-degrees, weights, effective jumps and the coupling matrices of ``mu`` and
        ``sigma^2``; ``.mu(nu)``, ``.sigma(nu)``, ``.transfer(nu)`` evaluate them.

    Raises
    ------
    TypeError
        ``network`` is not a :class:`~spikerate.sim.Network`.
    ValueError
        A population has per-neuron (heterogeneous) LIF parameters, or the network has a
        :class:`~spikerate.sim.TimedCurrent` (no stationary value).

    Notes
    -----
    Mean in-degree of a neuron of ``a`` from ``b`` (``N_b`` neurons) in a projection whose
    presynaptic populations hold ``N_pre`` neurons: ``FixedProbability(p)``: ``p N_b``;
    ``FixedInDegree(k)``: ``k N_b / N_pre``; ``AllToAll``: ``N_b``; without autapses a neuron
    that is itself presynaptic loses its own candidate (``p (N_b - 1)``, ``k (N_b - 1)/(N_pre
    - 1)``, ``N_b - 1``).  ``FromMatrix``: the mean over the neurons of ``a`` of the row sums
    of nonzeros, weights and squared weights in the columns of ``b``.  Delays are ignored.

    Examples
    --------
    >>> from spikerate.sim import brunel_network
    >>> m = population_inputs(brunel_network())
    >>> m.in_degree[0, :, 0].tolist()  # C_E, C_I onto E
    [1000.0, 250.0]
    >>> round(float(m.mu([10.0, 10.0])[0]), 3)  # mV: C_E J tau_m (eta nu_thr + nu (1 - g/4))
    35.0
    """
    if not isinstance(network, Network):
        raise TypeError(f"`network` must be a spikerate.sim.Network; got {describe(network)}. "
                        f"Build one with spikerate.sim.Network(...) or brunel_network()/cuba_network().")
    pops = network.population_names
    n_pop = len(pops)
    index = {name: i for i, name in enumerate(pops)}
    sizes = np.array([p.n for p in network.populations], float)
    neuron = {f: np.empty(n_pop) for f in _NEURON}
    for i, p in enumerate(network.populations):
        for f in _NEURON:
            v = getattr(p.params, f)
            if np.ndim(v):
                raise ValueError(f"population {p.name!r} has per-neuron (heterogeneous) `{f}`; the mean-field "
                                 f"mapping needs one value per population. Split it into homogeneous "
                                 f"populations or give scalar LIFParams.")
            neuron[f][i] = float(v)
    tau_m = neuron["tau_m"]
    chans = [c.name for c in network.channels]
    cidx = {c: k for k, c in enumerate(chans)}
    tau_s = np.array([c.tau_s for c in network.channels], float)
    n_ch = len(chans)
    # S1 = K <w>, S2 = K <w^2>, per (post, pre, channel)
    K = np.zeros((n_pop, n_pop, n_ch))
    S1 = np.zeros((n_pop, n_pop, n_ch))
    S2 = np.zeros((n_pop, n_pop, n_ch))
    for pr in network.projections:
        k = cidx[pr.channel]
        deg, s1, s2 = _projection_moments(network, pr, index)
        for a, b in deg:
            K[a, b, k] += deg[a, b]
            S1[a, b, k] += s1[a, b]
            S2[a, b, k] += s2[a, b]

    # effective delta jump factor per (post population, channel): tau_s/tau_m (current) or 1 (delta)
    def factor(a, k):
        return 1.0 if tau_s[k] == 0 else tau_s[k] / tau_m[a]

    def colour(a, k):
        return np.sqrt(tau_s[k] / tau_m[a])

    mu_c = np.zeros((n_pop, n_pop))
    var_c = np.zeros((n_pop, n_pop))
    shift_c = np.zeros((n_pop, n_pop))
    jump = np.zeros_like(K)
    weight = np.zeros_like(K)
    for a in range(n_pop):
        for k in range(n_ch):
            f = factor(a, k)
            mu_c[a] += S1[a, :, k] * f * tau_m[a]
            var_c[a] += S2[a, :, k] * f**2 * tau_m[a]
            shift_c[a] += S2[a, :, k] * f**2 * tau_m[a] * colour(a, k)
            has = K[a, :, k] > 0
            weight[a, has, k] = S1[a, has, k] / K[a, has, k]
            jump[a, :, k] = weight[a, :, k] * f

    mu_ext = neuron["v_rest"].copy()
    var_ext = np.zeros(n_pop)
    shift_ext = np.zeros(n_pop)
    for inp in network.inputs:
        if isinstance(inp, TimedCurrent):
            raise ValueError(f"the network has a TimedCurrent on {list(inp.target)}, which has no stationary value; "
                             f"the mean-field fixed point needs constant inputs (use Current for a constant drive).")
        targets = [index[t] for t in inp.target]
        if isinstance(inp, Current):
            amp = np.asarray(inp.amplitude, float)
            if amp.ndim == 0:
                for a in targets:
                    mu_ext[a] += float(amp)
            else:  # one value per target neuron, in target order: the mean over each population
                start = 0
                for a in targets:
                    n = int(sizes[a])
                    mu_ext[a] += float(np.mean(amp[start:start + n]))
                    start += n
        elif isinstance(inp, Noise):
            for a in targets:
                var_ext[a] += inp.sigma**2
        elif isinstance(inp, PoissonInput):
            k = cidx[inp.channel]
            for a in targets:
                f = factor(a, k)
                jmp = inp.weight * f
                mu_ext[a] += inp.n_inputs * jmp * inp.rate * tau_m[a]
                var_ext[a] += inp.n_inputs * jmp**2 * inp.rate * tau_m[a]
                shift_ext[a] += inp.n_inputs * jmp**2 * inp.rate * tau_m[a] * colour(a, k)
    ro = _readonly
    return PopulationInputs(
        populations=tuple(pops), channels=tuple(chans), tau_s=ro(tau_s), tau_m=ro(tau_m),
        t_ref=ro(neuron["t_ref"]), v_th=ro(neuron["v_th"]), v_reset=ro(neuron["v_reset"]),
        v_rest=ro(neuron["v_rest"]), in_degree=ro(K), weight=ro(weight), jump=ro(jump), mu_coupling=ro(mu_c),
        var_coupling=ro(var_c), shift_coupling=ro(shift_c), mu_ext=ro(mu_ext), var_ext=ro(var_ext),
        shift_ext=ro(shift_ext))


def _readonly(x) -> np.ndarray:
    x = np.array(x, float)
    x.setflags(write=False)
    return x


def _weight_moments(w) -> tuple[float, float]:
    """Mean and second moment of a projection weight (scalar or distribution)."""
    if not is_distribution(w):
        return float(w), float(w) ** 2
    if isinstance(w, Uniform):
        m, var = w.mean, (w.high - w.low) ** 2 / 12.0
    elif isinstance(w, (Normal, LogNormal)):
        m, var = w.mean, w.std**2
    else:  # pragma: no cover - every Distribution is handled above
        raise TypeError(f"unknown weight distribution {describe(w)}.")
    return float(m), float(m) ** 2 + float(var)


def _projection_moments(network: Network, pr, index: dict[str, int]):
    """Per (post population a, pre population b): mean in-degree, K<w>, K<w^2>."""
    pre, post = list(pr.pre), list(pr.post)
    n_pre_tot = network.size_of(pre)
    deg, s1, s2 = {}, {}, {}
    rule = pr.rule
    if isinstance(rule, FromMatrix):
        import scipy.sparse as sp
        m = sp.csr_matrix(rule.matrix, dtype=float)
        m.eliminate_zeros()
        if not pr.autapses:  # the simulator drops synapses from a neuron onto itself
            pre_ids, post_ids = network.indices(pre), network.indices(post)
            pos = np.full(network.n_neurons, -1, np.int64)
            pos[pre_ids] = np.arange(pre_ids.size)
            rows = np.flatnonzero(pos[post_ids] >= 0)
            if rows.size:
                m = m.tolil()
                m[rows, pos[post_ids][rows]] = 0.0
                m = m.tocsr()
                m.eliminate_zeros()
        nnz = m.copy()
        nnz.data = np.ones_like(nnz.data)
        sq = m.multiply(m).tocsr()
        r0 = 0
        for pa in post:
            na = network.population(pa).n
            c0 = 0
            for pb in pre:
                nb = network.population(pb).n
                key = (index[pa], index[pb])
                deg[key] = nnz[r0:r0 + na, c0:c0 + nb].sum() / na
                s1[key] = m[r0:r0 + na, c0:c0 + nb].sum() / na
                s2[key] = sq[r0:r0 + na, c0:c0 + nb].sum() / na
                c0 += nb
            r0 += na
        return deg, s1, s2
    w1, w2 = _weight_moments(pr.weight)
    for pa in post:
        own = (not pr.autapses) and pa in pre  # this population's neurons cannot pick themselves
        for pb in pre:
            nb = network.population(pb).n
            same = own and pa == pb
            if isinstance(rule, FixedProbability):
                k = rule.p * (nb - 1 if same else nb)
            elif isinstance(rule, AllToAll):
                k = float(nb - 1 if same else nb)
            elif isinstance(rule, FixedInDegree):  # uniform over the n_pre (or n_pre - 1) candidates
                k = rule.k * (nb - 1 if same else nb) / (n_pre_tot - 1 if own else n_pre_tot)
            else:  # pragma: no cover - Projection validates the rule type
                raise TypeError(f"unknown connectivity rule {describe(rule)}.")
            key = (index[pa], index[pb])
            deg[key], s1[key], s2[key] = k, k * w1, k * w2
    return deg, s1, s2


def meanfield_rates(network: Network | PopulationInputs, *, nu0: npt.ArrayLike | None = None,
                    tol: float = 1e-10, max_iter: int = 200, throw: bool = True) -> xr.Dataset:
    """Self-consistent stationary population rates ``nu = Phi(nu)`` of the diffusion mean field.

    ``Phi_a(nu) = siegert(mu_a(nu) - shift_a(nu), sigma_a(nu))`` (see the module docstring).
    Solved by Newton's method with the analytic Jacobian and a backtracking line search on
    ``|nu - Phi(nu)|``; if Newton stalls, the rate dynamics ``tau_m dnu/dt = -nu + Phi(nu)``
    are integrated (BDF) for 10, 20, 30, 40 ``tau_m`` in turn, restarting Newton after each.

    Parameters
    ----------
    network : Network or PopulationInputs
        The network (mapped with :func:`population_inputs`) or an existing mapping.
    nu0 : array_like, shape (n_pop,), optional
        Initial rates [Hz] (default: 1 Hz each).  Networks with several fixed points converge
        to the one nearest ``nu0`` in Newton's sense.
    tol : float
        Convergence when ``max_a |nu_a - Phi_a(nu)| <= tol * max(1 Hz, max_a nu_a)``.
    max_iter : int
        Maximum number of Newton iterations per attempt.
    throw : bool
        Raise :class:`~spikerate.errors.ConvergenceError` on failure (default); with False,
        return the last iterate with ``attrs["converged"] = 0`` and a ``message``.

    Returns
    -------
    xarray.Dataset
        Schema ``spikerate.meanfield/1``: on dim ``population``: ``rate`` [Hz], ``mu`` [mV],
        ``sigma`` [mV], ``threshold_shift`` [mV] (Fourcaud-Brunel), ``residual`` ``nu - Phi(nu)`` [Hz];
        ``jacobian(population, source)`` = ``dPhi_a/dnu_b``; on dim ``mode`` the eigenvalues
        ``eigenvalue_real``, ``eigenvalue_imag`` [1/s] of the linearised rate dynamics
        ``tau_m dnu/dt = -nu + Phi(nu)`` (the matrix ``(dPhi/dnu - 1)/tau_m``, by row), sorted
        by decreasing real part.  Attrs ``converged``, ``n_iter``, ``stable`` (1 when every real
        part is negative), ``method``, ``message``, ``tol``, ``n_relax`` (transfer evaluations
        spent relaxing).

    Raises
    ------
    ConvergenceError
        No fixed point found by Newton (``max_iter`` per attempt) and the relaxation rounds
        (``throw=True``).
    TypeError, ValueError
        Invalid arguments, or a network the mapping does not support (see
        :func:`population_inputs`).

    Notes
    -----
    ``stable`` is the stability of the *rate model*; the spiking network can still be
    unstable through delays and its finite-frequency response (Brunel 2000): e.g. Brunel's
    synchronous states are stable fixed points here.

    Examples
    --------
    >>> from spikerate.sim import brunel_network
    >>> ds = meanfield_rates(brunel_network(g=5.0, eta=2.0))
    >>> [round(float(r), 2) for r in ds.rate]
    [37.95, 37.95]
    """
    m = network if isinstance(network, PopulationInputs) else population_inputs(network)
    tol = check_positive("tol", tol)
    max_iter = check_int("max_iter", max_iter, minimum=1)
    if not isinstance(throw, (bool, np.bool_)):
        raise TypeError(f"`throw` must be True or False; got {describe(throw)}.")
    if nu0 is None:
        nu = np.ones(m.n)
    else:
        nu = m._rates(np.broadcast_to(np.asarray(nu0, float), (m.n,)) if np.ndim(nu0) == 0 else nu0).copy()

    def residual(x):
        phi = m._evaluate(x, jacobian=False)[0]
        return x - phi

    def done(x, r):
        return np.max(np.abs(r)) <= tol * max(1.0, float(np.max(x)))

    n_iter, n_relax, method, message = 0, 0, "newton", ""
    r = residual(nu)
    nu, r, k, converged = _newton(m, nu, r, residual, done, max_iter)
    n_iter += k
    for attempt in range(_RELAX_ROUNDS):  # relax the rate dynamics for a while, then Newton again
        if converged:
            break
        method = "relaxation+newton"
        nu, k = _relax(m, nu, (attempt + 1) * _RELAX_TIME * float(np.max(m.tau_m)))
        n_relax += k
        r = residual(nu)
        nu, r, k, converged = _newton(m, nu, r, residual, done, max_iter)
        n_iter += k
    if not converged:
        message = (f"no fixed point found after {n_iter} Newton iterations and {n_relax} evaluations of the "
                   f"relaxed rate dynamics: max |nu - Phi(nu)| = {float(np.max(np.abs(r))):.3g} Hz at rates "
                   f"{np.round(nu, 6).tolist()} Hz.")
        if throw:
            raise ConvergenceError(message + " Try another `nu0`, a larger `max_iter` or `tol`, or throw=False.")
    phi, mu, sigma, shift, jac = m._evaluate(nu, jacobian=True)
    lin = (jac - np.eye(m.n)) / m.tau_m[:, None]
    eig = np.linalg.eigvals(lin)
    eig = eig[np.lexsort((-eig.imag, -eig.real))]
    stable = bool(np.all(eig.real < 0))
    return make_meanfield_dataset(
        population=np.array(m.populations), rate=nu, mu=mu, sigma=sigma, shift=shift, residual=nu - phi,
        jacobian=jac, eigenvalues=eig, converged=converged, n_iter=n_iter, n_relax=n_relax, stable=stable,
        method=method, message=message or "converged", tol=tol, max_iter=max_iter,
        params={"tau_m": m.tau_m, "t_ref": m.t_ref, "v_th": m.v_th, "v_reset": m.v_reset, "v_rest": m.v_rest,
                "channels": list(m.channels), "tau_s": m.tau_s, "in_degree": m.in_degree, "weight": m.weight,
                "mu_ext": m.mu_ext, "var_ext": m.var_ext})


def _newton(m: PopulationInputs, nu, r, residual, done, max_iter):
    """Projected Newton on F(nu) = nu - Phi(nu) with backtracking; (nu, r, n_iter, converged)."""
    eye = np.eye(m.n)
    for k in range(max_iter):
        if done(nu, r):
            return nu, r, k, True
        jac = m._evaluate(nu, jacobian=True)[4]
        try:
            step = np.linalg.solve(eye - jac, -r)
        except np.linalg.LinAlgError:
            return nu, r, k, False
        if not np.all(np.isfinite(step)):
            return nu, r, k, False
        f0 = float(r @ r)
        lam = 1.0
        while lam > 1e-6:
            trial = np.maximum(nu + lam * step, 0.0)
            rt = residual(trial)
            if float(rt @ rt) < (1 - 1e-4 * lam) * f0:
                break
            lam *= 0.5
        else:
            return nu, r, k + 1, False
        nu, r = trial, rt
    return nu, r, max_iter, done(nu, r)


def _relax(m: PopulationInputs, nu, t_span):
    """Integrate the rate dynamics tau_m dnu/dt = -nu + Phi(nu) over ``t_span`` [s] (implicit,
    with the analytic Jacobian); (final nu, number of Phi evaluations)."""
    from scipy.integrate import solve_ivp

    count = [0]

    def rhs(t, x):
        count[0] += 1
        return (m._evaluate(np.maximum(x, 0.0), jacobian=False)[0] - x) / m.tau_m

    def jac(t, x):
        count[0] += 1
        return (m._evaluate(np.maximum(x, 0.0), jacobian=True)[4] - np.eye(m.n)) / m.tau_m[:, None]

    sol = solve_ivp(rhs, (0.0, t_span), nu, method="BDF", jac=jac, rtol=1e-6, atol=1e-6)
    return np.maximum(sol.y[:, -1], 0.0), count[0]
