"""The pipeline's steps as plain functions: each takes the run state and adapters, returns values.

The run state is the JSON document the state machine carries from step to step; see
``sagedrop.pipeline.state`` for its shape.
"""
