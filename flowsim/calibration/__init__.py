"""Calibration: a scenario fitted to a trust's own event log (``flowsim calibrate``).

:mod:`.eventlog` reads and checks the log, :mod:`.fit` fits the parameters, :mod:`.write`
writes them as a commented scenario file, :mod:`.cli` is the command."""
