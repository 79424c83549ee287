import { $, i18n } from "/static/staff/staff.js";

const pw = $("password");
const show = $("show-password");
show.addEventListener("click", () => {
  const visible = pw.type === "text";
  pw.type = visible ? "password" : "text";
  i18n.bind(show, visible ? "login.show" : "login.hide");
});
const user = $("username");
if (user && !user.value) user.focus();
