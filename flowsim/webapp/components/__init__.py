"""Parts of the browser app that any page may use: the scenario picker, run settings, the
progress bar, the result store, downloads, the variant builder, the pathway diagram and the KPI
definitions. A page arranges them; they hold no page's layout."""
