"""The Saga Workbook's support package: the travel world, servers, audit, timeline, CLI.

Kept free of imports so that workflow code may import from it inside Temporal's sandbox.
"""
