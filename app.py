"""flowsim in the browser: ``streamlit run app.py`` (after ``pip install -e ".[app]"``).

Pick a baseline and change ideas (shipped, uploaded or built with levers), run them with common
random numbers and compare them with 95% confidence intervals. The app is the package
:mod:`flowsim.webapp` (one module per page); ``flowsim app`` starts the same app.
"""

from flowsim.webapp import main

main()
