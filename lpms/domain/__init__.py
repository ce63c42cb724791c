"""Domain vocabulary: statuses, transitions, errors. Standard library only."""
