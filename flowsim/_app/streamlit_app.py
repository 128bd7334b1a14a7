"""The flowsim browser app, as a script for ``streamlit run`` (see :mod:`flowsim.webapp`)."""

from flowsim.webapp import main

main()
