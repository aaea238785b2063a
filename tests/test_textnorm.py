from edgeocr.textnorm import cjk_fullwidth, ell_in_words, latin_halfwidth, normalise_line


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


def test_ascii_punctuation_of_chinese_text_becomes_full_width():
    assert cjk_fullwidth("发票代码:144031900111") == "发票代码：144031900111"   # the colon ends the label
    assert cjk_fullwidth("金额(元)") == "金额（元）"
    assert cjk_fullwidth("(敏锐攻关) 他们? 好!") == "（敏锐攻关） 他们？ 好！"


def test_ascii_punctuation_of_latin_text_beside_chinese_stays_ascii():
    assert cjk_fullwidth("合计 TOTAL: 12.50") == "合计 TOTAL: 12.50"
    assert cjk_fullwidth("RM3.50(含税)") == "RM3.50（含税）"   # the bracket opens Chinese
    assert cjk_fullwidth("3.5元。") == "3.5元。"                   # the full stop is not mapped
    text = "TOTAL: 12.50"
    assert cjk_fullwidth(text) is text


def test_a_one_inside_a_lower_case_word_is_an_ell():
    assert ell_in_words("Kett1e tro11s Somervi1le") == "Kettle trolls Somerville"
    assert ell_in_words("user1 A1B2 1icense 2x1 b1G") == "user1 A1B2 1icense 2x1 b1G"


def test_normalising_keeps_the_length_so_probabilities_stay_aligned():
    for text in ["BILL NO ：C1-0170778", "发票代码:1440", "Wel1 said (yes)", "金额(元) Kett1e"]:
        assert len(normalise_line(text)) == len(text)
    assert normalise_line("ID： 0953 金额(元) App1e") == "ID: 0953 金额（元） Apple"
