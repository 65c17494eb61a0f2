"""Setup: what decides whether a model is ready to run, and what fixes it, across environments and downloads.

    readiness.py   is a model ready, and what is missing (`models`, the Run screen)
    diagnosis.py   each gap with the command that fixes it (`doctor`, the home screen, the wizard)
    wizard.py      the setup wizard's state and arithmetic, without Textual

This layer sits above `downloads` and `environments` and imports both; neither imports it.
"""
