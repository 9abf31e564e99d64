"""Pictures of plans: the timeline's Gantt chart (`gantt`) and its input from a job result (`source`)."""
