"""The pure shared facts: the condition model, labels, periods, markdown tables, fault points, sample data. No Dagster here."""
