"""Commendations (表彰): 先进单位, 放心食堂, 平安校园 and 优秀后勤人员 - proposed by rule, decided by the bureau."""
