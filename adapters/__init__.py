"""Platform adapters: they turn platform events into dispatcher calls and render replies natively.

Adapters know nothing about SQL; `adapters.cli` is the composition root that wires everything.
"""
