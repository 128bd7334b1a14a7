"""flowsim in the browser: ``streamlit run app.py`` (after ``pip install -e ".[app]"``).

Pick a baseline and change ideas (shipped, uploaded or built with levers), run them with common
random numbers and compare them with 95% confidence intervals. The page is
:mod:`flowsim.webapp`; ``flowsim app`` starts the same page.
"""

from flowsim.webapp import main

main()
