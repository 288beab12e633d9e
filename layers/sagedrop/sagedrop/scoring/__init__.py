"""Scoring by drop: a CSV under ``score/<run-id>/`` scored by a Batch Transform job of that run's model.

statemachine/scoring.asl.json runs the steps; each is a plain function of the scoring state
(``state``) here, called by a thin handler in ``functions/``: ``validation`` (the run and the file's
header), ``staging`` (the rows, header removed, in the model's column order), ``transform``
(CreateModel and CreateTransformJob, then a status per poll), ``assembling`` (the upload's rows
with their predictions under ``scores/``) and ``finishing`` (delete the model, status.json, notify;
or, on the failure path, stop the job first). ``steps`` maps the states to all of these.
"""
