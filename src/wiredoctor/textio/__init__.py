"""Text as a capture format: tcpdump output, hex dumps and Wireshark packet lists to records.

`parse.parse_text` reads the text; `rows.stated_rows` turns the records that carry only
printed fields into table rows.
"""
