from edgeocr.textnorm import latin_halfwidth


def test_full_width_punctuation_in_latin_text_becomes_ascii():
    assert latin_halfwidth("BILL NO ：C1-0170778") == "BILL NO :C1-0170778"
    assert latin_halfwidth("TOTAL（RM）12.50") == "TOTAL(RM)12.50"


def test_full_width_forms_beside_hanzi_stay_as_read():
    assert latin_halfwidth("发票代码：144031900111") == "发票代码：144031900111"
    assert latin_halfwidth("金额（元）") == "金额（元）"
    assert latin_halfwidth("谢谢，THANK YOU") == "谢谢，THANK YOU"


def test_text_without_full_width_forms_is_the_same_object():
    text = "Invoice No. 2024-0117 合计"
    assert latin_halfwidth(text) is text
    assert latin_halfwidth("：") == "："  # nothing around it says which script it belongs to
