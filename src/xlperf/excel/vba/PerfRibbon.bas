Attribute VB_Name = "PerfRibbon"
' xlperf: callbacks of the ribbon tab in customUI/customUI.xml and the same actions as macros.
' Every button passes its action name in its tag; the action runs in Python
' (xlperf.excel.actions.run_caller), which reports back in a message box.
' Keep this module ASCII: VBA source is stored in the ANSI code page (Chinese text lives in
' customUI.xml and in the cells).
Option Explicit

Public Sub OnAction(control As IRibbonControl)
    RunAction control.Tag
End Sub

Public Sub PerfRecalculate()
    RunAction "recalculate"
End Sub

Public Sub PerfValidate()
    RunAction "validate"
End Sub

Public Sub PerfWordReport()
    RunAction "word_report"
End Sub

Public Sub PerfHtmlReport()
    RunAction "html_report"
End Sub

Public Sub PerfNextYear()
    RunAction "next_year"
End Sub

Private Sub RunAction(ByVal action As String)
    RunPython "import xlperf.excel.actions as xlperf_actions; xlperf_actions.run_caller('" & action & "')"
End Sub
