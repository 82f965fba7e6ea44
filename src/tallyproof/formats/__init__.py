"""Input and structure file formats: forms and declarations as JSON, JSON Lines or CSV;
an election structure as JSON or a CSV set."""
