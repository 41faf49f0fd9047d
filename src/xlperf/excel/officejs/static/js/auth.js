// xlperf: the access token (访问令牌) of `xlperf serve --token`, in place of xlwings Server's auth.js.
// The manifest puts it in the task pane's address (taskpane.html?token=…); it is kept in
// localStorage for the custom functions and sent with every call as the Authorization header.
const xlperfGivenToken = new URLSearchParams(
  globalThis.location ? globalThis.location.search : "",
).get("token");
if (xlperfGivenToken) {
  try {
    localStorage.setItem("xlperfToken", xlperfGivenToken);
  } catch (error) {
    // private browsing: the token of this page is still used below
  }
}

globalThis.getAuth = async function () {
  let token = xlperfGivenToken || "";
  if (!token) {
    try {
      token = localStorage.getItem("xlperfToken") || "";
    } catch (error) {
      token = "";
    }
  }
  return { token: token, provider: "" };
};
