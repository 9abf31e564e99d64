"""JetStream consumers, one module per family of job types; registered as `augment.pipelines` entry points."""
