"""Units of spikerate: one system, everywhere.

Time is in seconds (s), rates in hertz (Hz), potentials and input currents in millivolts
(mV, i.e. R·I).  Arguments, kernel inputs, Dataset variables and attributes all use these, so
names carry no unit suffix and ``rate * time`` is a count.  The helpers here only convert
*into* these units for readability: ``20 * ms == 0.02``.
"""

from __future__ import annotations

s = second = 1.0
ms = millisecond = 1e-3
us = microsecond = 1e-6
Hz = hertz = 1.0
kHz = 1e3
mV = millivolt = 1.0
V = volt = 1e3

#: canonical unit strings used in ``attrs["units"]``
TIME = "s"
RATE = "Hz"
POTENTIAL = "mV"
DIMENSIONLESS = "1"
