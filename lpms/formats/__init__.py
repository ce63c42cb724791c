"""Output for people: plain-text plan tables (render) and the network picture (network_svg).

Presentation only: these modules read the planning core's results and never change them;
the planning core does not import them.
"""
