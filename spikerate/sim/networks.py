"""Two classic benchmark networks, built from plain parameters (what scenario files set).

* :func:`cuba_network`: Vogels & Abbott (2005) CUBA, exactly as Brian2's ``examples/CUBA.py``.
* :func:`brunel_network`: Brunel (2000) model A, sparse E/I network of delta-synapse LIF
  neurons with external Poisson drive.
"""

from __future__ import annotations

from .._validation import check_int, check_positive, check_probability, check_real
from .connectivity import FixedInDegree, FixedProbability, Projection
from .distributions import Uniform
from .inputs import PoissonInput
from .network import Network
from .params import Channel, LIFParams, Population


def _split(n_neurons: int, excitatory_fraction: float) -> tuple[int, int]:
    n = check_int("n_neurons", n_neurons, minimum=2)
    f = check_probability("excitatory_fraction", excitatory_fraction)
    n_e = int(round(f * n))
    if not 0 < n_e < n:
        raise ValueError(f"`n_neurons` = {n} with `excitatory_fraction` = {f} leaves an empty population; "
                         f"use more neurons.")
    return n_e, n - n_e


def cuba_network(*, n_neurons: int = 4000, p: float = 0.02, excitatory_fraction: float = 0.8,
                 tau_m: float = 20e-3, v_rest: float = -49.0, v_th: float = -50.0, v_reset: float = -60.0,
                 t_ref: float = 5e-3, tau_e: float = 5e-3, tau_i: float = 10e-3,
                 we: float = 60 * 0.27 / 10, wi: float = -20 * 4.5 / 10, delay: float | None = None,
                 autapses: bool = True) -> Network:
    """The CUBA network of Vogels & Abbott (2005) as in Brian2's ``examples/CUBA.py``.

    ``n_neurons`` LIF neurons, 80/20 excitatory/inhibitory, every pair connected with
    probability ``p`` (autapses allowed, as in Brian2's example), exponential current synapses
    (``tau_e`` 5 ms, ``tau_i`` 10 ms) with jumps ``we`` = 1.62 mV and ``wi`` = -9 mV, resting
    potential above threshold (-49 vs -50 mV), reset -60 mV, refractory 5 ms, potentials
    initialised uniformly in [v_reset, v_th].  ``delay=None`` is one time step.

    References: Vogels & Abbott (2005), J Neurosci 25:10786, doi:10.1523/JNEUROSCI.3508-05.2005;
    Brian2 examples/CUBA.py.
    """
    n_e, n_i = _split(n_neurons, excitatory_fraction)
    p = check_probability("p", p)
    params = LIFParams(tau_m=tau_m, v_rest=v_rest, v_th=v_th, v_reset=v_reset, t_ref=t_ref)
    v0 = Uniform(low=v_reset, high=v_th)
    both = ("E", "I")
    return Network(
        populations=[Population(name="E", n=n_e, params=params, v_init=v0),
                     Population(name="I", n=n_i, params=params, v_init=v0)],
        channels=[Channel(name="e", tau_s=tau_e), Channel(name="i", tau_s=tau_i)],
        projections=[
            Projection(pre="E", post=both, channel="e", rule=FixedProbability(p=p), weight=we, delay=delay,
                       autapses=autapses),
            Projection(pre="I", post=both, channel="i", rule=FixedProbability(p=p), weight=wi, delay=delay,
                       autapses=autapses)])


def brunel_network(*, n_neurons: int = 12500, excitatory_fraction: float = 0.8, epsilon: float = 0.1,
                   g: float = 5.0, eta: float = 2.0, J: float = 0.1, tau_m: float = 20e-3,
                   v_th: float = 20.0, v_reset: float = 10.0, t_ref: float = 2e-3, delay: float = 1.5e-3,
                   autapses: bool = False) -> Network:
    """Brunel's (2000) model A: sparse E/I network with delta synapses and Poisson drive.

    Each neuron receives ``C_E = epsilon N_E`` excitatory inputs of ``J`` mV and
    ``C_I = epsilon N_I`` inhibitory inputs of ``-g J`` mV (fixed in-degree), all with
    ``delay``, plus ``C_E`` external Poisson inputs of ``J`` mV at ``eta * nu_thr``, where
    ``nu_thr = v_th / (J C_E tau_m)`` is the rate that brings the mean input to threshold.
    The default (g = 5, eta = 2) is the asynchronous irregular (AI) state (Brunel 2000, Fig. 8C).
    Potentials start uniformly in [0, v_th] (rest is 0 mV).

    Reference: Brunel (2000), J Comput Neurosci 8:183, doi:10.1023/A:1008925309027.
    """
    n_e, n_i = _split(n_neurons, excitatory_fraction)
    epsilon = check_probability("epsilon", epsilon)
    g = check_positive("g", g, allow_zero=True)
    eta = check_positive("eta", eta, allow_zero=True)
    J = check_real("J", J, unit="mV")
    c_e, c_i = max(1, int(round(epsilon * n_e))), max(1, int(round(epsilon * n_i)))
    params = LIFParams(tau_m=tau_m, v_rest=0.0, v_th=v_th, v_reset=v_reset, t_ref=t_ref)
    nu_thr = v_th / (J * c_e * check_positive("tau_m", tau_m, unit="s"))
    v0 = Uniform(low=0.0, high=v_th)
    both = ("E", "I")
    return Network(
        populations=[Population(name="E", n=n_e, params=params, v_init=v0),
                     Population(name="I", n=n_i, params=params, v_init=v0)],
        channels=[Channel(name="delta", tau_s=0.0)],
        projections=[
            Projection(pre="E", post=both, channel="delta", rule=FixedInDegree(k=c_e), weight=J, delay=delay,
                       autapses=autapses),
            Projection(pre="I", post=both, channel="delta", rule=FixedInDegree(k=c_i), weight=-g * J,
                       delay=delay, autapses=autapses)],
        inputs=[PoissonInput(target=both, channel="delta", rate=eta * nu_thr, weight=J, n_inputs=c_e)])
