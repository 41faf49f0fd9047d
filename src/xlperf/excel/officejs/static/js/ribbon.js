// xlperf: the buttons of the 绩效自评 tab (templates/manifest.xml) and the task-pane callbacks
// the Python scripts ask for. Served by xlwings Server in place of its stock ribbon.js.
//
// Each manifest <FunctionName> runs the xlwings Server script of the same action
// (xlperf.excel.server.make_scripts) with the whole workbook; the script answers with actions
// (write formulas and values, show a message) that xlwings' runPython applies.

const XLPERF_BUTTONS = {
  xlperfRecalculate: "recalculate",
  xlperfValidate: "validate",
  xlperfWordReport: "word_report",
  xlperfHtmlReport: "html_report",
};

async function xlperfRunScript(scriptName, event) {
  try {
    const authResult =
      typeof globalThis.getAuth === "function"
        ? await globalThis.getAuth()
        : { token: "", provider: "" };
    await globalThis.xlwings.runPython({
      auth: authResult.token,
      scriptName: scriptName,
      headers: { "Auth-Provider": authResult.provider },
    });
  } finally {
    event.completed();
  }
}

Object.entries(XLPERF_BUTTONS).forEach(([functionName, scriptName]) => {
  Office.actions.associate(functionName, (event) =>
    xlperfRunScript(scriptName, event),
  );
});

// Sheet protection (工作表保护): xlperf's computed cells are locked on protected sheets without a
// password. xlperfUnprotect lifts the protection of the named sheets before the script's writes
// and remembers its options; xlperfProtect restores it afterwards.
const xlperfProtections = {};

async function xlperfUnprotect(context, ...sheetNames) {
  const sheets = sheetNames
    .flat(Infinity)
    .map((name) => context.workbook.worksheets.getItem(String(name)));
  sheets.forEach((sheet) => sheet.protection.load("protected, options"));
  await context.sync();
  sheets.forEach((sheet, index) => {
    const name = String(sheetNames.flat(Infinity)[index]);
    if (sheet.protection.protected) {
      xlperfProtections[name] = sheet.protection.options;
      sheet.protection.unprotect();
    }
  });
  await context.sync();
}

async function xlperfProtect(context, ...sheetNames) {
  sheetNames.flat(Infinity).forEach((value) => {
    const name = String(value);
    if (name in xlperfProtections) {
      context.workbook.worksheets
        .getItem(name)
        .protection.protect(xlperfProtections[name]);
      delete xlperfProtections[name];
    }
  });
  await context.sync();
}

// Reports are written on the server; open the download in the browser.
async function xlperfOpenUrl(context, url) {
  Office.context.ui.openBrowserWindow(String(url));
}

Office.onReady(() => {
  if (globalThis.xlwings && globalThis.xlwings.registerCallback) {
    globalThis.xlwings.registerCallback(xlperfUnprotect);
    globalThis.xlwings.registerCallback(xlperfProtect);
    globalThis.xlwings.registerCallback(xlperfOpenUrl);
  }
});
