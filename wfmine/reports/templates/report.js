(function(){
function reveal(){var id=decodeURIComponent(location.hash.slice(1));var el=id&&document.getElementById(id);
 while(el){if(el.tagName==='DETAILS'){el.open=true;}el=el.parentElement;}
 if(id&&document.getElementById(id)){document.getElementById(id).scrollIntoView();}}
window.addEventListener('hashchange',reveal);if(location.hash){reveal();}
})();
(function(){
var T={layout:{font:{family:'system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif',size:12,color:'#1d2733'},
paper_bgcolor:'#fff',plot_bgcolor:'#fff',colorway:['#0d6e6e','#d97706','#3b82f6','#b42318','#7c3aed','#059669','#64748b'],
margin:{l:60,r:20,t:36,b:50},xaxis:{gridcolor:'#eef2f6',zerolinecolor:'#dde3ea'},
yaxis:{gridcolor:'#eef2f6',zerolinecolor:'#dde3ea'},hoverlabel:{font:{size:12}}}};
var charts=document.querySelectorAll('.wf-chart');
var narrow=window.innerWidth<640;
function fail(msg){charts.forEach(function(d){d.textContent='Chart not drawn: '+msg;d.className+=' na';});}
function drawOne(d){
 if(d.getAttribute('data-drawn')){return;}
 d.setAttribute('data-drawn','1');
 try{var s=JSON.parse(document.getElementById(d.getAttribute('data-spec')).textContent);
  s.layout.template=T;
  var map=!!s.layout.width;
  if(!map&&s.layout.title&&s.layout.title.text){s.layout.title.x=0;s.layout.title.xanchor='left';
   s.layout.title.xref='paper';if(narrow){s.layout.title.font={size:13};}}
  if(narrow&&!map){s.layout.margin={l:44,r:8,t:40,b:40};}
  window.Plotly.newPlot(d,s.data,s.layout,{displaylogo:false,responsive:true,displayModeBar:map&&!narrow?'hover':false,
   modeBarButtonsToRemove:['select2d','lasso2d','sendDataToCloud']});
  if(map){var room=d.clientWidth,ratio=room/s.layout.width;  // a map a little too wide shrinks to fit; a big one scrolls
   if(ratio<1&&ratio>=0.6){d.style.zoom=ratio.toFixed(3);}}
 }catch(e){d.textContent='Chart not drawn: '+e;}}
function draw(){charts.forEach(function(d){
 var box=d.closest('details');
 if(box&&!box.open){box.addEventListener('toggle',function(){if(box.open){drawOne(d);}});}
 else{drawOne(d);}});
 document.documentElement.setAttribute('data-charts','done');}
if(!charts.length){document.documentElement.setAttribute('data-charts','done');return;}
var el=document.getElementById('wf-plotly');
if(!el){fail('chart library missing');return;}
if(!('DecompressionStream' in window)){fail('this browser cannot unpack the embedded chart library');return;}
try{
 var bin=atob(el.textContent.trim()),bytes=new Uint8Array(bin.length);
 for(var i=0;i<bin.length;i++){bytes[i]=bin.charCodeAt(i);}
 new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'))).text()
 .then(function(code){var s=document.createElement('script');s.text=code;document.head.appendChild(s);draw();})
 .catch(function(e){fail(String(e));});
}catch(e){fail(String(e));}
})();
