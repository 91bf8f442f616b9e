"""Records every layer passes around: statuses, resources, results, artifact references,
run events."""
