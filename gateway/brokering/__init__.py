"""Need-to-know brokering: decide per (source, category), fan out, minimise, log, answer."""
