"""Plan-do-study-act: record a prediction before a test of change, then study the observed
weeks against it on SPC charts (``flowsim predict``, ``flowsim study``)."""
