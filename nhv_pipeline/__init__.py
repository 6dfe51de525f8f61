"""NHV annual follow-up pipeline (årlig uppföljning av nationell högspecialiserad vård)."""

import warnings

from dagster import BetaWarning, PreviewWarning

# Partition-aware asset checks and mappings to not-yet-existing report years are
# marked beta/preview in Dagster 1.13; we rely on them knowingly (see partitions.py),
# so their warnings would only bury the pipeline's own progress lines.
warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)
