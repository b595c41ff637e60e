"""Text pieces with placeholder marks and stray frame characters, for the unmark tests."""

from __future__ import annotations

from hypothesis import strategies as st

from backend.domain.render_filters import mark

MARK_OPEN, MARK_SEP, MARK_BODY, MARK_CLOSE = "\ue010", "\ue011", "\ue012", "\ue013"

MARK_PIECES = st.one_of(
    st.text(alphabet="가나다 abc,.()OOO원", max_size=6),
    st.builds(
        mark,
        st.sampled_from(["OOO", "OO월 OO일", "", "x\ue010y"]),
        st.sampled_from(["fact", "setting", "agent"]),
        st.sampled_from(["reason", "original_fare", ""]),
    ),
    st.sampled_from([MARK_OPEN, MARK_SEP, MARK_BODY, MARK_CLOSE]),
)
