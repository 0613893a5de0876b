"""Glossary terms of the plans' chapter headings (the target picker's group headers).

A target's ``chapter`` (TOML) quotes the plan's heading, e.g. ``二、（四）儿童与福利``, and may
name two headings joined by ``；`` (a target written in both plans). Each heading is a term
here, so the English UI never shows a Chinese heading; ``dashapp.labels.chapter_label``
translates each part. A new chapter in a target file needs a term here
(``tests/test_gap_truth.py`` checks every target's chapter).
"""

from __future__ import annotations

#: one plan heading (as the TOML quotes it) → zh/en label
CHAPTER_TERMS: dict[str, dict[str, str]] = {
    "二、（一）儿童与健康": {"zh": "二、（一）儿童与健康", "en": "II.1 Children and health"},
    "二、（三）儿童与教育": {"zh": "二、（三）儿童与教育", "en": "II.3 Children and education"},
    "二、（四）儿童与福利": {"zh": "二、（四）儿童与福利", "en": "II.4 Children and welfare"},
    "二、（五）儿童与家庭": {"zh": "二、（五）儿童与家庭", "en": "II.5 Children and the family"},
    "二、（六）儿童与环境": {"zh": "二、（六）儿童与环境", "en": "II.6 Children and the environment"},
    "三、（三）学前教育实现优质普惠发展": {"zh": "三、（三）学前教育实现优质普惠发展",
                                  "en": "III.3 Quality, inclusive preschool education"},
    "三、（四）儿童之家建设项目": {"zh": "三、（四）儿童之家建设项目", "en": "III.4 Children's home projects"},
    "二、（一）妇女与健康": {"zh": "二、（一）妇女与健康", "en": "II.1 Women and health"},
    "二、（四）妇女参与决策和管理": {"zh": "二、（四）妇女参与决策和管理",
                            "en": "II.4 Women in decision-making and management"},
    "二、（五）妇女与社会保障": {"zh": "二、（五）妇女与社会保障", "en": "II.5 Women and social security"},
    "二、（六）妇女与家庭建设": {"zh": "二、（六）妇女与家庭建设", "en": "II.6 Women and family building"},
    "二、（七）妇女与环境": {"zh": "二、（七）妇女与环境", "en": "II.7 Women and the environment"},
    # cross-references to the other plan's heading
    "妇女规划二、（一）妇女与健康": {"zh": "妇女规划二、（一）妇女与健康", "en": "Women's plan II.1 Women and health"},
    "儿童规划二、（一）儿童与健康": {"zh": "儿童规划二、（一）儿童与健康", "en": "Children's plan II.1 Children and health"},
}
