"""What a pipeline is: steps, parameters, the DAG and its groups. Nothing here runs anything."""
