"""Small plan-target files shared by the CLI tests (simplified copies of data/targets).

They are written into a temporary dataset's ``targets/`` folder so the tests control the
exact rules (and their expected counts) independently of the shipped target files.
"""

DEMO_CHILD_HOME_PER_TOWNSHIP = """
id = "demo_child_home_per_township"
kind = "presence"
label_zh = "每个乡镇（街道）1家以上示范型儿童之家"
label_en = "A demonstration children's home in every township"
plan = "children"
chapter = "儿童与福利"
unit_level = "township"
threshold = 1
facility = { type = "child_home", tier = "demonstration" }
[source]
plan = "丽水市儿童发展“十四五”规划"
clause = "每个乡镇（街道）建有1家以上示范型儿童之家"
lines = [721]
"""
