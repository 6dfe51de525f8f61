"""NHV annual follow-up pipeline (årlig uppföljning av nationell högspecialiserad vård)."""
